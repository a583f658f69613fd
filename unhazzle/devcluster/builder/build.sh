#!/usr/bin/env bash
# Builds the local Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler, kwok, metrics-server and a matching kubectl) and its real node (containerd and its
# runc shim, the kubelet, kube-proxy, CNI plugins, a small CoreDNS, the sandbox and test programs)
# from Go modules into a cache outside the repo, keyed by version:
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
  # openssl makes the control plane's certificates. (kubectl is built below: Debian's
  # kubernetes-client is 1.20, far outside kubectl's supported skew against 1.35.)
  if command -v openssl >/dev/null; then
    say "openssl present"
  else
    say "installing Debian package: openssl"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssl
  fi
}

# Bump when the way binaries are built changes, so cached ones are rebuilt.
BUILD_REV=2
# have NAME VERSION: true when NAME was already built for VERSION (stamp written after success).
have() { [ -x "$bin/$1" ] && [ "$(cat "$bin/.$1.version" 2>/dev/null)" = "$2 r$BUILD_REV" ]; }
stamp() { echo "$2 r$BUILD_REV" > "$bin/.$1.version"; }

# The release scripts stamp the version in at link time; without it the binaries say
# v0.0.0-master (in /version, `kubectl version`, user agents).
kube_version_ldflags() {
  local minor="${K8S_VERSION#v1.}" pkg flags=""
  minor="${minor%%.*}"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    flags+=" -X $pkg.gitTreeState=clean"
  done
  echo "$flags"
}

# go_build DIR EXTRA_LDFLAGS PKG... : build main packages of the build module unhazzle/devcluster/builder/gomod/DIR.
go_build() {
  local dir="$1" ldflags="-s -w $2"; shift 2
  local tmp; tmp="$(mktemp -d "$bin/.tmp.XXXXXX")"
  (cd "$here/gomod/$dir" && CGO_ENABLED=0 go build -mod=readonly -trimpath -ldflags="$ldflags" -o "$tmp/" "$@")
  mv "$tmp"/* "$bin/" && rmdir "$tmp"
}

build_etcd() {
  if have etcd "$ETCD_VERSION"; then say "etcd $ETCD_VERSION: cached in $bin, skipping"; return; fi
  say "etcd $ETCD_VERSION: go build go.etcd.io/etcd/server/v3 (build module gomod/etcd)"
  go_build etcd "" go.etcd.io/etcd/server/v3
  mv "$bin/server" "$bin/etcd"  # go names the binary after the last path element
  stamp etcd "$ETCD_VERSION"
}

build_kube() {
  local cmds=(kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet kube-proxy) todo=() c
  for c in "${cmds[@]}"; do
    if have "$c" "$K8S_VERSION"; then say "$c $K8S_VERSION: cached, skipping"; else todo+=("$c"); fi
  done
  [ ${#todo[@]} -eq 0 ] && return
  say "${todo[*]} $K8S_VERSION: go build k8s.io/kubernetes/cmd/... (build module gomod/kube; slow: ~15 min cold on 2 cores)"
  go_build kube "$(kube_version_ldflags)" "${todo[@]/#/k8s.io/kubernetes/cmd/}"
  for c in "${todo[@]}"; do stamp "$c" "$K8S_VERSION"; done
}

build_kwok() {
  if have kwok "$KWOK_VERSION"; then say "kwok $KWOK_VERSION: cached, skipping"; return; fi
  # kwok's go.mod has no replace directives, so a plain `go install` works.
  say "kwok $KWOK_VERSION: go install sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  GOBIN="$bin" CGO_ENABLED=0 go install -trimpath -ldflags='-s -w' "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  stamp kwok "$KWOK_VERSION"
}

build_metrics_server() {
  if have metrics-server "$METRICS_SERVER_VERSION"; then
    say "metrics-server $METRICS_SERVER_VERSION: cached, skipping"; return
  fi
  # Like kwok, its go.mod has no replace directives; it uses its own (older) k8s.io libraries,
  # so this is a cold build of its own (~10 CPU-minutes), not a reuse of the kube build cache.
  say "metrics-server $METRICS_SERVER_VERSION: go install sigs.k8s.io/metrics-server/cmd/metrics-server@$METRICS_SERVER_VERSION"
  # The version stamp its own Makefile links in (else `metrics-server --version` says v0.0.0-master).
  GOBIN="$bin" CGO_ENABLED=0 go install -trimpath \
    -ldflags="-s -w -X k8s.io/client-go/pkg/version.gitVersion=$METRICS_SERVER_VERSION" \
    "sigs.k8s.io/metrics-server/cmd/metrics-server@$METRICS_SERVER_VERSION"
  stamp metrics-server "$METRICS_SERVER_VERSION"
}

build_containerd() {
  local cmds=(containerd containerd-shim-runc-v2 ctr) todo=() c
  for c in "${cmds[@]}"; do
    if have "$c" "$CONTAINERD_VERSION"; then say "$c $CONTAINERD_VERSION: cached, skipping"; else todo+=("$c"); fi
  done
  [ ${#todo[@]} -eq 0 ] && return
  # No replace directives in its go.mod: `go install` works. Without cgo, so without the btrfs,
  # devmapper and zfs snapshotters (overlayfs is used); runc itself is Debian's.
  say "${todo[*]} $CONTAINERD_VERSION: go install github.com/containerd/containerd/v2/cmd/..."
  local pkgs=("${todo[@]/#/github.com/containerd/containerd/v2/cmd/}")
  GOBIN="$bin" CGO_ENABLED=0 go install -trimpath -tags 'no_btrfs no_devmapper no_zfs' \
    -ldflags="-s -w -X github.com/containerd/containerd/v2/version.Version=$CONTAINERD_VERSION" \
    "${pkgs[@]/%/@$CONTAINERD_VERSION}"
  for c in "${todo[@]}"; do stamp "$c" "$CONTAINERD_VERSION"; done
}

build_cni() {
  local plugins=(main/bridge main/loopback ipam/host-local) p name
  mkdir -p "$bin/cni"
  for p in "${plugins[@]}"; do
    name="${p#*/}"
    if [ -x "$bin/cni/$name" ] && [ "$(cat "$bin/cni/.$name.version" 2>/dev/null)" = "$CNI_PLUGINS_VERSION r$BUILD_REV" ]; then
      say "CNI $name $CNI_PLUGINS_VERSION: cached, skipping"; continue
    fi
    say "CNI $name $CNI_PLUGINS_VERSION: go install github.com/containernetworking/plugins/plugins/$p"
    GOBIN="$bin/cni" CGO_ENABLED=0 go install -trimpath -ldflags='-s -w' \
      "github.com/containernetworking/plugins/plugins/$p@$CNI_PLUGINS_VERSION"
    echo "$CNI_PLUGINS_VERSION r$BUILD_REV" > "$bin/cni/.$name.version"
  done
}

build_coredns() {
  if have coredns "$COREDNS_VERSION"; then say "coredns $COREDNS_VERSION: cached, skipping"; return; fi
  say "coredns $COREDNS_VERSION: go build (build module gomod/coredns: only the plugins the node uses)"
  go_build coredns "" .
  stamp coredns "$COREDNS_VERSION"
}

build_node_programs() {
  # Our own pause and test programs: small, so rebuilt whenever their source changes.
  local sum; sum="$(cat "$here"/gomod/node/*/main.go "$here"/gomod/node/go.mod | sha256sum | cut -c1-16)"
  if have pause "$sum" && have testapp "$sum"; then say "pause, testapp: cached, skipping"; return; fi
  say "pause, testapp: go build (build module gomod/node)"
  go_build node "" ./pause ./testapp
  stamp pause "$sum"; stamp testapp "$sum"
}

install_kwok_stages() {
  # The standalone kwok binary (unlike kwokctl) has no built-in stages: it needs Stage objects in
  # its --config. Copy kwokctl's defaults ("fast" node/pod stages, heartbeat with leases) from the
  # same kwok module version; unhazzle.devcluster.cluster concatenates them into kwok's config.
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
  build_metrics_server
  build_kube
  build_containerd
  build_cni
  build_coredns
  build_node_programs
  say "done in $((SECONDS - start))s; $(du -sh "$cache_root/$K8S_VERSION" | cut -f1) in $cache_root/$K8S_VERSION"
}
main "$@"
