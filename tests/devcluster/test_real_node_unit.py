"""unhazzle.devcluster.node pieces that need no machine: its configuration files and the reasons
it gives for not running."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pytest

from unhazzle.devcluster import cluster as devcluster
from unhazzle.devcluster import node


def state(tmp_path: Path) -> devcluster.ClusterState:
    ports = dict.fromkeys(devcluster.NODE_PORTS, 1)
    return devcluster.ClusterState(
        state_dir=str(tmp_path), bin_dir=str(tmp_path / "bin"), etcd_port=1, etcd_peer_port=2,
        apiserver_port=3, controller_manager_port=4, scheduler_port=5, kwok_port=6, pids={},
        node_ports=ports,
    )  # fmt: skip


def test_containerd_keeps_everything_in_the_node_folder_and_runs_debians_runc(tmp_path: Path) -> None:
    config = tomllib.loads(node.containerd_config(state(tmp_path)))
    folder = str(tmp_path / "node")
    assert config["root"].startswith(folder) and config["state"].startswith(folder)
    assert config["imports"] == []  # nothing of the machine's own containerd
    plugins = config["plugins"]
    assert plugins["io.containerd.server.v1.grpc"]["address"] == f"{folder}/containerd.sock"
    runtime = plugins["io.containerd.cri.v1.runtime"]
    assert runtime["netns_mounts_under_state_dir"] is True
    assert runtime["restrict_oom_score_adj"] is True
    options = runtime["containerd"]["runtimes"]["runc"]["options"]
    assert options["SystemdCgroup"] is False and options["Root"].startswith(folder)
    assert plugins["io.containerd.cri.v1.images"]["pinned_images"]["sandbox"] == node.SANDBOX_IMAGE


def test_kubelet_accepts_this_machines_cgroups_and_serves_at_the_bridge(tmp_path: Path) -> None:
    config = node.kubelet_config(state(tmp_path))
    assert config["failCgroupV1"] is False and config["cgroupDriver"] == "cgroupfs"
    assert config["cgroupRoot"] == f"/{node.CGROUP_ROOT}"
    assert config["address"] == node.GATEWAY and config["clusterDNS"] == [node.GATEWAY]
    assert config["authentication"]["anonymous"]["enabled"] is False
    assert config["makeIPTablesUtilChains"] is False


def test_the_bridge_gives_addresses_without_masquerade() -> None:
    bridge = node.cni_config()["plugins"][0]
    assert bridge["bridge"] == node.BRIDGE and bridge["ipMasq"] is False and bridge["hairpinMode"] is True
    assert bridge["ipam"]["ranges"] == [[{"subnet": node.SUBNET, "gateway": node.GATEWAY}]]


def test_coredns_answers_the_cluster_domain_on_the_bridge(tmp_path: Path) -> None:
    corefile = node.coredns_corefile(tmp_path / "kubeconfig")
    assert corefile.startswith("cluster.local:53 {") and f"bind {node.GATEWAY}" in corefile
    assert f"kubeconfig {tmp_path / 'kubeconfig'}" in corefile


@pytest.mark.skipif(os.geteuid() != 0, reason="as root the reason is about binaries")
def test_missing_node_binaries_name_the_build_script(tmp_path: Path) -> None:
    reason = node.unavailable_reason(tmp_path)
    assert reason is not None and "unhazzle dev-cluster build" in reason and "containerd" in reason


def test_without_root_the_reason_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert (
        node.unavailable_reason(tmp_path)
        == "a real node needs root (containers, cgroups and a network bridge)"
    )
