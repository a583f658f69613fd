"""The peer tools the benchmarks time Unhazzle against, found or built, and their versions.

Each peer is the version a team would run beside this cluster: `kubectl` matching the local
plane's Kubernetes version (the machine's own kubectl may be minor versions behind, and then its
client-side throttling is what gets measured), and `helm` built from its module with the
machine's Go into the cache, outside the repository, once. A peer that cannot be had stops the
benchmark loudly: a table with a missing peer is not a comparison.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from unhazzle.devcluster import cluster

HELM_MODULE = "helm.sh/helm/v4/cmd/helm"
HELM_VERSION = "v4.3.2"
PEERS = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "unhazzle" / "peers"


class PeerFailed(RuntimeError):
    """A peer tool could not be had or did not do its part of the work."""


def kubectl() -> Path:
    """The kubectl of the plane's own release, which the plane's build makes beside the server."""
    path = cluster.cache_bin_dir() / "kubectl"
    if not path.is_file() and cluster.build() != 0:
        raise PeerFailed(f"could not build the local plane's binaries, kubectl among them ({path})")
    return path


def kubectl_version() -> str:
    out = _run([str(kubectl()), "version", "--client", "-o", "json"])
    return str(json.loads(out)["clientVersion"]["gitVersion"])


def helm() -> Path:
    """helm, built once with `go install` into the cache (about two minutes on 2 cores)."""
    target = PEERS / f"helm-{HELM_VERSION}"
    binary = target / "helm"
    if binary.is_file():
        return binary
    target.mkdir(parents=True, exist_ok=True)
    print(f"(building helm {HELM_VERSION} into {target}: once per machine)", flush=True)
    env = {**os.environ, "GOBIN": str(target), "GOFLAGS": "-mod=mod"}
    try:
        subprocess.run(["go", "install", f"{HELM_MODULE}@{HELM_VERSION}"], check=True, env=env)
    except (OSError, subprocess.CalledProcessError) as exc:
        raise PeerFailed(f"could not build helm {HELM_VERSION}: {exc}") from exc
    return binary


def helm_version() -> str:
    """The module version the binary was built from (`helm version` says only "v4.3" when built
    with `go install`, which sets no version flags)."""
    for line in _run(["go", "version", "-m", str(helm())]).splitlines():
        fields = line.split()
        if fields[:2] == ["mod", "helm.sh/helm/v4"]:
            return fields[2]
    raise PeerFailed(f"{helm()} names no helm.sh/helm/v4 module version")


def _run(argv: list[str]) -> str:
    try:
        return subprocess.run(argv, check=True, capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", "") or exc
        raise PeerFailed(f"{' '.join(argv)} failed: {detail}") from exc


def load_line(at_start: float) -> str:
    """The machine's load, said with every table: on a shared machine wall time follows it."""
    return (
        f"load average {at_start:.1f} at the start, {os.getloadavg()[0]:.1f} at the end, "
        f"on {os.cpu_count()} cores"
    )
