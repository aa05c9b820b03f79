#!/usr/bin/env bash
# Set up a local environment: Python virtualenv with the project, front-end packages.
# Usage: bash scripts/setup.sh [--browser]   (--browser also installs Chromium for browser tests)
set -euo pipefail
cd "$(dirname "$0")/.."

PY="${PYTHON:-}"
if [ -z "$PY" ]; then
  if command -v python3.11 >/dev/null 2>&1; then PY=python3.11; else PY=python3; fi
fi
if [ ! -x .venv/bin/python ]; then
  echo "» creo l'ambiente virtuale (.venv) con $PY"
  "$PY" -m venv .venv
fi
echo "» installo le dipendenze Python"
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[dev]'

if [ -f package.json ]; then
  echo "» installo le librerie front-end (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
fi
if [ -f scripts/vendor_static.py ]; then
  .venv/bin/python scripts/vendor_static.py
fi

if [ "${1:-}" = "--browser" ] && ! command -v chromium >/dev/null 2>&1; then
  echo "» installo Chromium (pacchetto Debian) per i test nel browser"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq chromium >/dev/null
fi
