"""unhazzle.devcluster.cluster pieces that need no control plane."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from unhazzle.devcluster import cluster as devcluster


def test_down_never_signals_a_recorded_pid_running_something_else(tmp_path: Path) -> None:
    # After a reboot the pids in cluster.json may belong to unrelated processes.
    stranger = subprocess.Popen(["sleep", "30"], start_new_session=True)
    try:
        state = devcluster.ClusterState(
            state_dir=str(tmp_path), bin_dir=str(tmp_path / "bin"), etcd_port=1,
            etcd_peer_port=2, apiserver_port=3, controller_manager_port=4, scheduler_port=5,
            kwok_port=6, pids={"etcd": stranger.pid, "kube-apiserver": stranger.pid},
        )  # fmt: skip
        state.save()
        assert devcluster.running(tmp_path) is None
        assert devcluster.down(tmp_path) is False
        assert stranger.poll() is None
    finally:
        stranger.kill()
        stranger.wait()


def test_missing_binaries_name_the_build_script(tmp_path: Path) -> None:
    with pytest.raises(devcluster.DevClusterError, match=r"unhazzle dev-cluster build"):
        devcluster.find_binaries(tmp_path)


def test_pki_and_kubeconfig(tmp_path: Path) -> None:
    pki = tmp_path / "pki"
    devcluster.make_pki(pki)
    subject = subprocess.run(
        ["openssl", "x509", "-in", str(pki / "admin.crt"), "-noout", "-subject"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert "system:masters" in subject  # the admin is a superuser without RBAC objects
    devcluster.write_kubeconfig(tmp_path / "kubeconfig", "https://127.0.0.1:6443", pki)
    assert (tmp_path / "kubeconfig").stat().st_mode & 0o077 == 0


def test_metrics_certificates_verify_against_the_plane_ca(tmp_path: Path) -> None:
    pki = tmp_path / "pki"
    devcluster.make_pki(pki)
    devcluster.make_metrics_pki(pki)

    def verify(name: str, *args: str) -> subprocess.CompletedProcess[str]:
        argv = ["openssl", "verify", "-CAfile", str(pki / "ca.crt"), *args, str(pki / f"{name}.crt")]
        return subprocess.run(argv, capture_output=True, text=True, check=False)

    # The aggregator checks metrics-server's certificate for the Service's in-cluster name.
    assert verify("metrics-server", "-purpose", "sslserver", "-verify_hostname",
                  "metrics-server.kube-system.svc").returncode == 0  # fmt: skip
    assert verify("metrics-server", "-verify_hostname", "example.com").returncode != 0
    assert verify("front-proxy-client", "-purpose", "sslclient").returncode == 0
    before = (pki / "metrics-server.crt").read_bytes()
    devcluster.make_metrics_pki(pki)  # a restart keeps them
    assert (pki / "metrics-server.crt").read_bytes() == before


def test_state_saved_before_metrics_server_still_loads(tmp_path: Path) -> None:
    old = {
        "state_dir": str(tmp_path), "bin_dir": "/x", "etcd_port": 1, "etcd_peer_port": 2,
        "apiserver_port": 3, "controller_manager_port": 4, "scheduler_port": 5, "kwok_port": 6,
        "pids": {},
    }  # fmt: skip
    (tmp_path / devcluster.STATE_FILE).write_text(json.dumps(old))
    state = devcluster.ClusterState.load(tmp_path)
    assert state is not None and state.metrics_server_port == 0
