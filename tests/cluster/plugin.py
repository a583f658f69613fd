"""The `cluster` fixture: one real local control plane for the whole test session.

Use it by marking a test `@pytest.mark.cluster` and taking the `cluster` argument. Binaries come
from `bash tests/cluster/build.sh`; when they are missing the fixture skips locally and fails
under CI=true, with the reason either way.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from unhazzle.devcluster import cluster as devcluster


@dataclass
class Cluster:
    """A running control plane: point any client at `kubeconfig` (or `server` + its certs)."""

    state: devcluster.ClusterState
    kubeconfig: Path
    server: str
    state_dir: Path
    # The kubectl built with the control plane (same version as the server).
    kubectl_path: Path

    def restart_apiserver(self) -> None:
        """Stop and start kube-apiserver on the same URL; etcd keeps the data."""
        devcluster.restart_apiserver(self.state, tie_to_parent=True)

    def kubectl(
        self, *args: str, input: str | None = None, check: bool = True, timeout: float = 180
    ) -> subprocess.CompletedProcess[str]:
        """Run kubectl against this cluster; `check` raises with stderr on a non-zero exit."""
        env = {**os.environ, "KUBECONFIG": str(self.kubeconfig)}
        proc = subprocess.run(
            [str(self.kubectl_path), *args],
            input=input,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed:\n{proc.stderr}")
        return proc


def _unavailable(reason: str) -> None:
    # CI must not go green by skipping every cluster test, so there a missing plane is a failure.
    if os.environ.get("CI") == "true":
        pytest.fail(f"local Kubernetes control plane unavailable (CI=true): {reason}", False)
    pytest.skip(f"local Kubernetes control plane unavailable: {reason}")


@pytest.fixture(scope="session")
def cluster_bin_dir() -> Path:
    """The directory of built control-plane binaries (skip/fail with the reason if absent)."""
    if shutil.which("openssl") is None:
        _unavailable("openssl is not on PATH (bash tests/cluster/build.sh installs it)")
    try:
        return devcluster.find_binaries()
    except devcluster.DevClusterError as err:
        reason = str(err)
    _unavailable(reason)  # outside `except`, so the report is not a chained traceback
    raise AssertionError("unreachable: _unavailable always raises")


@pytest.fixture(scope="session")
def cluster(cluster_bin_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Start etcd, kube-apiserver, controller-manager, scheduler and kwok with two fake nodes."""
    state_dir = tmp_path_factory.mktemp("dev-cluster")
    # Three layers against leftovers: this finally, atexit for an interrupted session, and
    # the components' parent-death signal for a test process that is killed outright.
    atexit.register(devcluster.down, state_dir)
    try:
        state = devcluster.up(state_dir, bin_dir=cluster_bin_dir, tie_to_parent=True)
        kubeconfig = devcluster.kubeconfig_path(state_dir)
        yield Cluster(state, kubeconfig, state.server, state_dir, cluster_bin_dir / "kubectl")
    finally:
        devcluster.down(state_dir)
        atexit.unregister(devcluster.down)
