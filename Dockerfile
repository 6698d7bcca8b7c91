# SEA: one image, two entry points (see docs/docker.md)
#   app    Streamlit app on port 8501          (docker run ... sea app)
#   serve  inference server on port 8080: /ping, /invocations (SageMaker runs `serve`)
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    SEA_HOME=/var/lib/sea \
    HF_HUB_OFFLINE=1 \
    TOKENIZERS_PARALLELISM=false \
    OMP_WAIT_POLICY=PASSIVE

WORKDIR /opt/sea

# CPU-only torch first (small wheel, no CUDA), then the app's requirements (torch already satisfied).
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY sea_core/ sea_core/
COPY mlops/ mlops/
COPY pages/ pages/
COPY app.py streamlit_app.py ./
COPY tests/golden/ tests/golden/
COPY deploy/ deploy/
COPY .streamlit/config.toml .streamlit/config.toml
COPY docker/entrypoint.sh docker/healthcheck.py docker/

RUN useradd --create-home --uid 10001 sea \
    && mkdir -p "$SEA_HOME" \
    && chown -R sea:sea "$SEA_HOME" \
    && chmod 0755 docker/entrypoint.sh
USER sea

VOLUME ["/var/lib/sea"]
EXPOSE 8501 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "docker/healthcheck.py"]
ENTRYPOINT ["/opt/sea/docker/entrypoint.sh"]
CMD ["app"]
