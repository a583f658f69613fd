#!/usr/bin/env bash
# The main job on the bundled example: validate, plan, explain and render.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${VENV:-.venv}/bin
spec=examples/shop/unhazzle.yaml
out=out/demo
run() { echo; echo "\$ unhazzle $*"; "$bin/unhazzle" "$@"; }
run validate "$spec"
run plan "$spec"
run explain "$spec" web --env production
run render "$spec" --out "$out/manifests"
run secrets list --spec "$spec"
