#!/usr/bin/env bash
# The README's run command: a virtual environment with the product requirements, the embedded
# defaults initialised (SQLite warehouse and artifact folder under $SEA_HOME, default ./.sea),
# a first admin account when there is none, then the Streamlit app on port 8501.
# Extra arguments go to `streamlit run` (e.g. --server.port 8502).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -r requirements.txt
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
.venv/bin/python -m mlops init
if .venv/bin/python -m mlops users list | grep -q "^no accounts"; then
  echo "No accounts yet: create the first admin."
  read -r -p "admin user name [admin]: " name
  .venv/bin/python -m mlops users add "${name:-admin}" --role admin --role reviewer --role stakeholder
fi
# the worker runs builds, re-embedding and imports queued from the app
.venv/bin/python -m mlops worker >"${SEA_HOME:-.sea}/worker.log" 2>&1 &
worker=$!
trap 'kill $worker 2>/dev/null' EXIT
.venv/bin/python -m streamlit run app.py "$@"
