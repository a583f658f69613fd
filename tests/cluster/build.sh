#!/usr/bin/env bash
# Builds the local Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler, kwok) from Go modules into a cache outside the repo, keyed by version:
#   ${UNHAZZLE_K8S_CACHE:-~/.cache/unhazzle/k8s}/<k8s version>/bin
# Idempotent: a binary that is already there for the pinned version is skipped.
# CI calls this before pytest; a warm cache makes it a no-op that takes about a second.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"
cache_root="${UNHAZZLE_K8S_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/unhazzle/k8s}"
bin="$cache_root/$K8S_VERSION/bin"
start=$SECONDS
say() { echo "build.sh: $*"; }

ensure_debian_packages() {
  # kubectl drives the smoke tests; openssl makes the control plane's certificates.
  local missing=()
  command -v kubectl >/dev/null || missing+=(kubectl)
  command -v openssl >/dev/null || missing+=(openssl)
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing Debian packages: ${missing[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
  else
    say "kubectl and openssl present"
  fi
}

# have NAME VERSION: true when NAME was already built for VERSION (stamp written after success).
have() { [ -x "$bin/$1" ] && [ "$(cat "$bin/.$1.version" 2>/dev/null)" = "$2" ]; }
stamp() { echo "$2" > "$bin/.$1.version"; }

# build_module NAME... : go build the listed main packages of a build module in tests/cluster/gomod.
go_build() {
  local dir="$1"; shift
  local tmp; tmp="$(mktemp -d "$bin/.tmp.XXXXXX")"
  (cd "$here/gomod/$dir" && CGO_ENABLED=0 go build -mod=readonly -trimpath -ldflags='-s -w' -o "$tmp/" "$@")
  mv "$tmp"/* "$bin/" && rmdir "$tmp"
}

build_etcd() {
  if have etcd "$ETCD_VERSION"; then say "etcd $ETCD_VERSION: cached in $bin, skipping"; return; fi
  say "etcd $ETCD_VERSION: go build go.etcd.io/etcd/server/v3 (build module gomod/etcd)"
  go_build etcd go.etcd.io/etcd/server/v3
  mv "$bin/server" "$bin/etcd"  # go names the binary after the last path element
  stamp etcd "$ETCD_VERSION"
}

build_kube() {
  local cmds=(kube-apiserver kube-controller-manager kube-scheduler) todo=() c
  for c in "${cmds[@]}"; do
    if have "$c" "$K8S_VERSION"; then say "$c $K8S_VERSION: cached, skipping"; else todo+=("$c"); fi
  done
  [ ${#todo[@]} -eq 0 ] && return
  say "${todo[*]} $K8S_VERSION: go build k8s.io/kubernetes/cmd/... (build module gomod/kube; slow: ~15 min cold on 2 cores)"
  go_build kube "${todo[@]/#/k8s.io/kubernetes/cmd/}"
  for c in "${todo[@]}"; do stamp "$c" "$K8S_VERSION"; done
}

build_kwok() {
  if have kwok "$KWOK_VERSION"; then say "kwok $KWOK_VERSION: cached, skipping"; return; fi
  # kwok's go.mod has no replace directives, so a plain `go install` works.
  say "kwok $KWOK_VERSION: go install sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  GOBIN="$bin" CGO_ENABLED=0 go install -trimpath -ldflags='-s -w' "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  stamp kwok "$KWOK_VERSION"
}

install_kwok_stages() {
  # The standalone kwok binary (unlike kwokctl) has no built-in stages: it needs Stage objects in
  # its --config. Copy kwokctl's defaults ("fast" node/pod stages, heartbeat with leases) from the
  # same kwok module version; unhazzle.devcluster concatenates them into kwok's config.
  local dest="$cache_root/$K8S_VERSION/kwok-stages" src
  if [ "$(cat "$dest/.version" 2>/dev/null)" = "$KWOK_VERSION" ]; then
    say "kwok $KWOK_VERSION stages: cached, skipping"; return
  fi
  src="$(go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')"
  say "kwok $KWOK_VERSION stages: copying from $src/kustomize/stage to $dest"
  mkdir -p "$dest"
  install -m 644 "$src/kustomize/stage/node/fast/node-initialize.yaml" \
    "$src/kustomize/stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml" \
    "$src/kustomize/stage/pod/fast/pod-ready.yaml" "$src/kustomize/stage/pod/fast/pod-complete.yaml" \
    "$src/kustomize/stage/pod/fast/pod-delete.yaml" "$dest/"
  echo "$KWOK_VERSION" > "$dest/.version"
}

main() {
  command -v go >/dev/null || { say "error: Go is required (go.mod needs go >= 1.26 for kwok)"; exit 1; }
  ensure_debian_packages
  mkdir -p "$bin"
  say "cache: $bin ($(go version))"
  build_etcd
  build_kwok
  install_kwok_stages
  build_kube
  say "done in $((SECONDS - start))s; $(du -sh "$cache_root/$K8S_VERSION" | cut -f1) in $cache_root/$K8S_VERSION"
}
main "$@"
