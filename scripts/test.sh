#!/usr/bin/env bash
# The whole test suite, as CI runs it: system packages, the local control plane (cached outside
# the repo), static checks, then pytest. Any failure fails the run, and so does "no tests ran".
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${VENV:-.venv}/bin

missing=()
while read -r pkg; do
  [[ -z "$pkg" || "$pkg" == \#* ]] && continue
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done < scripts/system-packages.txt
if ((${#missing[@]})); then
  echo "== installing Debian packages: ${missing[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [[ -f unhazzle/devcluster/builder/build.sh ]]; then
  echo "== local control plane"; bash unhazzle/devcluster/builder/build.sh
fi

bash scripts/lint.sh

echo "== pytest"
"$bin/pytest" -q "$@"
