#!/usr/bin/env bash
# The main job on the bundled example: validate, plan with costs, explain, render, publish to a
# local environment repo, and (when the local control plane is built) reconcile it into a local
# cluster and show its status. Everything it writes goes under out/demo/.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${VENV:-.venv}/bin
spec=examples/shop/unhazzle.yaml
out=$PWD/out/demo
key=tests/fixtures/shop-cluster.agekey   # the example's demo key: it opens the example's secrets
run() { echo; echo "\$ unhazzle $*"; "$bin/unhazzle" "$@"; }

rm -rf "$out" && mkdir -p "$out"
run validate "$spec"
run plan "$spec"
run explain "$spec" web --env production
run render "$spec" --out "$out/manifests"
run secrets list --spec "$spec"

git init -q --bare -b main "$out/env-repo.git"
run publish "$spec" --to "$out/env-repo.git"

if ! "$bin/python" -c 'from unhazzle.devcluster.cluster import find_binaries; find_binaries()' 2>/dev/null; then
  echo
  echo "(the local control plane is not built: run 'unhazzle dev-cluster build' to reconcile too)"
  exit 0
fi
state="$out/cluster"
trap '"$bin/unhazzle" dev-cluster down --state-dir "$state" >/dev/null 2>&1 || true' EXIT
# Simulated machines: the example's images (ghcr.io/acme/...) are made up, so real containers could
# not start; `unhazzle dev-cluster up` runs your own images for real where the computer can.
run dev-cluster up --state-dir "$state" --machines simulated
kubeconfig=$("$bin/unhazzle" dev-cluster kubeconfig --state-dir "$state")
run reconcile --repo "$out/env-repo.git" --once --kubeconfig "$kubeconfig" \
  --secrets-key-file "$key" --cache-dir "$out/reconciler-cache" --no-leader-election 2>"$out/reconcile.log" \
  || echo "(not every app is healthy yet; see $out/reconcile.log)"
run status --spec "$spec" --kubeconfig "$kubeconfig" --env production
