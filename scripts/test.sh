#!/usr/bin/env bash
# Set up and run the whole test suite on the embedded SQLite database:
# lint, types, import rules, migrations without drift, then pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --browser
export INLAV_ENVIRONMENT=test
echo "» ruff";           .venv/bin/ruff check engine forms web tests bench scripts alembic && .venv/bin/ruff format --check --quiet engine forms web tests bench scripts
echo "» mypy";           .venv/bin/mypy
echo "» import-linter";  .venv/bin/lint-imports
echo "» pytest (SQLite)"
.venv/bin/python -m pytest "$@"
