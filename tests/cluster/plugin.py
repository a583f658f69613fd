"""The `cluster` fixture: one real local control plane for the whole test session, its machines
simulated; and `real_cluster`: another whose one machine is real (containers really run).

Use them by marking a test `@pytest.mark.cluster` and taking the `cluster` (or `real_cluster`) argument. Binaries come
from `unhazzle dev-cluster build`; when they are missing the fixture skips locally and fails
under CI=true, with the reason either way.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from unhazzle.devcluster import cluster as devcluster
from unhazzle.devcluster import node as realnode


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
        _unavailable("openssl is not on PATH (unhazzle dev-cluster build installs it)")
    try:
        return devcluster.find_binaries()
    except devcluster.DevClusterError as err:
        reason = str(err)
    _unavailable(reason)  # outside `except`, so the report is not a chained traceback
    raise AssertionError("unreachable: _unavailable always raises")


@contextlib.contextmanager
def _plane(state_dir: Path, bin_dir: Path, real_node: bool) -> Iterator[Cluster]:
    # Three layers against leftovers: this finally, atexit for an interrupted session, and
    # the components' parent-death signal for a test process that is killed outright.
    stop = functools.partial(devcluster.down, state_dir)
    atexit.register(stop)
    try:
        state = devcluster.up(state_dir, bin_dir=bin_dir, tie_to_parent=True, real_node=real_node)
        kubeconfig = devcluster.kubeconfig_path(state_dir)
        yield Cluster(state, kubeconfig, state.server, state_dir, bin_dir / "kubectl")
    finally:
        stop()
        atexit.unregister(stop)


@pytest.fixture(scope="session")
def cluster(cluster_bin_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Start etcd, kube-apiserver, controller-manager, scheduler and kwok with two fake nodes."""
    with _plane(tmp_path_factory.mktemp("dev-cluster"), cluster_bin_dir, real_node=False) as plane:
        yield plane


@pytest.fixture(scope="session")
def real_cluster(cluster_bin_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """The control plane with one real machine (unhazzle.devcluster.node) and no simulated one."""
    if reason := realnode.unavailable_reason(cluster_bin_dir):
        _unavailable(f"no real machine: {reason}")
    with _plane(tmp_path_factory.mktemp("real-cluster"), cluster_bin_dir, real_node=True) as plane:
        yield plane
