#!/usr/bin/env bash
# Static checks: formatting, lint, types and the import layers.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${VENV:-.venv}/bin
echo "== ruff"; "$bin/ruff" check . && "$bin/ruff" format --check .
echo "== mypy"; "$bin/mypy"
echo "== import layers"; "$bin/lint-imports"
