#!/usr/bin/env bash
# Creates .venv, installs caregrid with its Python and front-end dependencies, compiles translations.
# Idempotent and quick when nothing changed.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
if [ ! -x .venv/bin/python ]; then
  echo "» creating .venv with $PYTHON"
  "$PYTHON" -m venv .venv
fi
stamp=".venv/.caregrid-$(cat pyproject.toml | sha1sum | cut -c1-12)"
if [ ! -f "$stamp" ]; then
  echo "» installing Python packages"
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e ".[dev]"
  rm -f .venv/.caregrid-* && touch "$stamp"
fi
npm_stamp="node_modules/.caregrid-$(cat package.json package-lock.json | sha1sum | cut -c1-12)"
if [ ! -f "$npm_stamp" ]; then
  echo "» installing front-end assets (npm)"
  npm ci --no-audit --no-fund --loglevel=error
  rm -f node_modules/.caregrid-* && touch "$npm_stamp"
fi
.venv/bin/caregrid compiletranslations --quiet
