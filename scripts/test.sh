#!/usr/bin/env bash
# Every check: lint, the suite on SQLite, the suite on PostgreSQL 15, browser tests in headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
export CAREGRID_VAR=$(mktemp -d /tmp/caregrid-test-var.XXXXXX)
trap 'rm -rf "$CAREGRID_VAR"' EXIT

echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .

bash scripts/ensure-chromium.sh

echo "== tests on SQLite (with browser tests)"
.venv/bin/pytest -n 2 -q

echo "== tests on PostgreSQL (with browser tests)"
bash scripts/with-postgres.sh .venv/bin/pytest -n 2 -q
