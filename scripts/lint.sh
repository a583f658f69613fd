#!/usr/bin/env bash
# Static checks: formatting, lint, types, the import layers and the docs (broken links fail).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${VENV:-.venv}/bin
echo "== ruff"; "$bin/ruff" check .; "$bin/ruff" format --check .
echo "== mypy"; "$bin/mypy"
echo "== import layers"; "$bin/lint-imports"
echo "== docs"; site=$(mktemp -d); NO_MKDOCS_2_WARNING=1 "$bin/mkdocs" build --strict --quiet -d "$site"; rm -rf "$site"
