#!/bin/sh
# Container entry point: `app` (Streamlit, port 8501), `serve` (inference server, port 8080;
# the command SageMaker gives an endpoint), `train` (one build from the job's settings; the
# command SageMaker gives a Training job), or any other command run as given (e.g. `python -m mlops users add ...`).
set -e
case "${1:-app}" in
  app)
    shift 2>/dev/null || true
    exec streamlit run app.py --server.port=8501 --server.address=0.0.0.0 "$@"
    ;;
  serve)
    shift
    exec python -m mlops serve --host 0.0.0.0 --port 8080 "$@"
    ;;
  train)
    shift
    exec python -m mlops sagemaker-train "$@"
    ;;
  *)
    exec "$@"
    ;;
esac
