#!/usr/bin/env bash
# Lint, format check and type check (configured in pyproject.toml), as CI runs them.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
