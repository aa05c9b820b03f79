#!/usr/bin/env bash
# Set up, migrate the embedded SQLite database, deploy the regional model, seed demo
# data and serve on http://127.0.0.1:8000 (the worker for timers and messages runs inside).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export INLAV_DATABASE_URL="${INLAV_DATABASE_URL:-sqlite:///var/inlav.db}"
.venv/bin/inlav db upgrade
.venv/bin/inlav processes deploy processes forms/schemas --note "modello regionale (installazione)"
.venv/bin/inlav demo seed
exec .venv/bin/inlav serve --host 127.0.0.1 --port "${PORT:-8000}"
