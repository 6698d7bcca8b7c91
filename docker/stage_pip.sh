#!/usr/bin/env bash
# Stages this machine's pip configuration into docker/pip/ (git-ignored) so that `docker build`
# reaches the same package registries as the machine: pip.conf with the CA bundle, the constraints
# file and the local wheel folders (find-links: e.g. the CPU torch wheel) copied beside it. Local
# file:// indexes are left out (too large to copy); the container reaches PyPI over the network.
# Usage: docker/stage_pip.sh   (then: docker build --build-arg TORCH_INDEX_URL= ...)
set -euo pipefail
cd "$(dirname "$0")/.."
STAGE=docker/pip
IN_IMAGE=/opt/sea-build/pip     # where the Dockerfile copies docker/pip/
find "$STAGE" -mindepth 1 ! -name .gitignore -delete
mkdir -p "$STAGE/wheels"

PIP="${PIP:-python3 -m pip}"
declare -A conf=()
# `pip config list` prints key='value' for files and the environment (:env:.key); the last one wins.
while IFS= read -r line; do
  key="${line%%=*}"; value="${line#*=}"; value="${value#\'}"; value="${value%\'}"
  key="${key##*.}"
  conf[$key]="$value"
done < <($PIP config list 2>/dev/null || true)

{
  echo "[global]"
  for key in "${!conf[@]}"; do
    value="${conf[$key]}"
    case "$key" in
      cert)
        [ -f "$value" ] && cp "$value" "$STAGE/ca.crt" && echo "cert = $IN_IMAGE/ca.crt" ;;
      constraint)
        [ -f "$value" ] && cp "$value" "$STAGE/constraints.txt" && echo "constraint = $IN_IMAGE/constraints.txt" ;;
      find-links)
        for dir in $value; do [ -d "$dir" ] && cp "$dir"/*.whl "$STAGE/wheels/" 2>/dev/null || true; done
        echo "find-links = $IN_IMAGE/wheels" ;;
      index-url|extra-index-url)
        urls="$(printf '%s\n' $value | grep -E '^https?://' | tr '\n' ' ' || true)"
        [ -n "$urls" ] && echo "$key = $urls" ;;
      timeout|default-timeout)
        echo "timeout = $value" ;;
      *) ;;
    esac
  done
} > "$STAGE/pip.conf"
echo "staged $(find "$STAGE" -type f ! -name .gitignore | wc -l) files into $STAGE:" >&2
cat "$STAGE/pip.conf" >&2
