# SEA: one image, three entry points (see docs/docker.md)
#   app    Streamlit app on port 8501          (docker run ... sea app)
#   serve  inference server on port 8080: /ping, /invocations (SageMaker runs `serve`)
#   train  one build from the job's settings (a SageMaker Training job runs `train`)
#
# Build arguments:
#   BASE_IMAGE       a Python 3.11 image (default python:3.11-slim; scripts/docker_base.sh makes a
#                    Debian one where no image registry is reachable)
#   TORCH_VERSION    the torch release (the one in requirements.txt)
#   TORCH_INDEX_URL  where torch's CPU wheel comes from (empty: the pip configuration's indexes
#                    and find-links, e.g. a local wheel staged by docker/stage_pip.sh)
# docker/pip/ carries the build machine's pip configuration (docker/stage_pip.sh fills it; empty by
# default): it is used in the build stage only and is not in the final image.
ARG BASE_IMAGE=python:3.11-slim

FROM ${BASE_IMAGE} AS build
ARG TORCH_VERSION=2.13.0
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
COPY docker/pip/ /opt/sea-build/pip/
RUN if [ -f /opt/sea-build/pip/pip.conf ]; then export PIP_CONFIG_FILE=/opt/sea-build/pip/pip.conf; fi \
    && python3 -m venv /opt/venv \
    && /opt/venv/bin/pip install ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"} "torch==${TORCH_VERSION}"
COPY requirements.txt /opt/sea-build/
RUN if [ -f /opt/sea-build/pip/pip.conf ]; then export PIP_CONFIG_FILE=/opt/sea-build/pip/pip.conf; fi \
    && /opt/venv/bin/pip install -r /opt/sea-build/requirements.txt

FROM ${BASE_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    SEA_HOME=/var/lib/sea \
    HF_HUB_OFFLINE=1 \
    TOKENIZERS_PARALLELISM=false \
    OMP_WAIT_POLICY=PASSIVE

COPY --from=build /opt/venv /opt/venv
WORKDIR /opt/sea
COPY sea_core/ sea_core/
COPY mlops/ mlops/
COPY pages/ pages/
COPY app.py streamlit_app.py ./
COPY tests/golden/ tests/golden/
COPY deploy/ deploy/
COPY .streamlit/config.toml .streamlit/config.toml
COPY docker/entrypoint.sh docker/healthcheck.py docker/

# /opt/ml: where a SageMaker Training job puts its hyperparameters and reads the failure reason.
RUN useradd --create-home --uid 10001 sea \
    && mkdir -p "$SEA_HOME" /opt/ml/input/config /opt/ml/output /opt/ml/model \
    && chown -R sea:sea "$SEA_HOME" /opt/ml \
    && chmod 0755 docker/entrypoint.sh
USER sea

VOLUME ["/var/lib/sea"]
EXPOSE 8501 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "docker/healthcheck.py"]
ENTRYPOINT ["/opt/sea/docker/entrypoint.sh"]
CMD ["app"]
