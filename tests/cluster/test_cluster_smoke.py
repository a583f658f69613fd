"""Proof that the test control plane is a real Kubernetes API server, not a fake.

Each test checks one behaviour a mock would get wrong: server-side apply, kwok-run pods making a
Deployment available, field-manager conflicts, the API server's own validation, and data that
lives in etcd across an API server restart.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.cluster.plugin import Cluster
from unhazzle.devcluster import cluster as devcluster

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).resolve().parents[2]


def _apply_app(cluster: Cluster) -> None:
    # Idempotent, so every test may call it whatever order the tests run in.
    cluster.kubectl("apply", "--server-side", "--field-manager=unhazzle", "-f", str(FIXTURES))


def test_k8s_version_matches_build_script() -> None:
    versions = (REPO / "unhazzle" / "devcluster" / "builder" / "versions.env").read_text()
    match = re.search(r"^K8S_VERSION=(\S+)$", versions, re.M)
    assert match is not None
    assert match.group(1) == devcluster.K8S_VERSION


@pytest.mark.cluster
def test_server_side_apply_of_rendered_manifests(cluster: Cluster) -> None:
    proc = cluster.kubectl("apply", "--server-side", "--field-manager=unhazzle", "-f", str(FIXTURES))
    assert "deployment.apps/web serverside-applied" in proc.stdout
    assert "horizontalpodautoscaler.autoscaling/web serverside-applied" in proc.stdout
    got = json.loads(
        cluster.kubectl(
            "get", "deployment", "web", "-n", "smoke", "-o", "json", "--show-managed-fields"
        ).stdout
    )
    managers = {m["manager"]: m["operation"] for m in got["metadata"]["managedFields"]}
    assert managers["unhazzle"] == "Apply"
    # Defaulting happened on the server: fields we never sent are filled in.
    assert got["spec"]["revisionHistoryLimit"] == 10
    assert got["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] == "IfNotPresent"


@pytest.mark.cluster
def test_deployment_becomes_available_on_kwok_nodes(cluster: Cluster) -> None:
    _apply_app(cluster)
    cluster.kubectl("wait", "-n", "smoke", "deployment/web", "--for=condition=Available", "--timeout=120s")
    dep = json.loads(cluster.kubectl("get", "deployment", "web", "-n", "smoke", "-o", "json").stdout)
    assert dep["status"]["availableReplicas"] == 2
    pods = json.loads(
        cluster.kubectl("get", "pods", "-n", "smoke", "-l", "app.kubernetes.io/name=web", "-o", "json").stdout
    )["items"]
    assert {p["status"]["phase"] for p in pods} == {"Running"}
    assert {p["spec"]["nodeName"] for p in pods} <= set(devcluster.DEFAULT_NODES)
    # Written by the real kube-scheduler and deployment controller, whose event recorders batch
    # asynchronously: poll briefly rather than expect them the instant the Deployment is ready.
    wanted, reasons = {"Scheduled", "ScalingReplicaSet"}, set[str]()
    deadline = time.monotonic() + 30
    while not wanted <= reasons and time.monotonic() < deadline:
        events = cluster.kubectl("get", "events", "-n", "smoke", "-o", "json").stdout
        reasons = {e["reason"] for e in json.loads(events)["items"]}
        time.sleep(0.5)
    assert wanted <= reasons


@pytest.mark.cluster
def test_compiler_output_applies_and_apps_become_available(cluster: Cluster, tmp_path: Path) -> None:
    # The shop example as `unhazzle render` writes it, applied as a user would with kubectl.
    from unhazzle.compiler.pipeline import compile_file
    from unhazzle.compiler.rendering.render import render_plan
    from unhazzle.compiler.write import write_tree

    plan = compile_file(REPO / "examples" / "shop" / "unhazzle.yaml").plan
    write_tree(tmp_path, render_plan(plan, environments=["production"]))
    folder = tmp_path / "production"
    # The namespace first, as the reconciler stages it, then everything else.
    cluster.kubectl(
        "apply", "--server-side", "--field-manager=unhazzle", "-f", str(folder / "_environment.yaml")
    )
    proc = cluster.kubectl("apply", "--server-side", "--field-manager=unhazzle", "-f", str(folder))
    assert "deployment.apps/web serverside-applied" in proc.stdout
    assert "ingress.networking.k8s.io/web serverside-applied" in proc.stdout
    for app in ("web", "api", "worker", "cache"):  # the cache's volume comes from the host-path disks
        cluster.kubectl(
            "wait",
            "-n",
            "shop-production",
            f"deployment/{app}",
            "--for=condition=Available",
            "--timeout=120s",
        )
    # No replicas in the manifests: the autoscaler lifts each app to its minimum.
    deadline, ready = time.monotonic() + 90, 0
    while time.monotonic() < deadline:
        dep = json.loads(
            cluster.kubectl("get", "deployment", "web", "-n", "shop-production", "-o", "json").stdout
        )
        ready = dep["status"].get("availableReplicas", 0)
        if ready >= 2:
            break
        time.sleep(1)
    assert ready == 2


@pytest.mark.cluster
def test_two_field_managers_conflict(cluster: Cluster) -> None:
    name = f"conflict-{uuid.uuid4().hex[:6]}"
    doc = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s, namespace: default}\ndata: {k: %s}\n"
    cluster.kubectl(
        "apply",
        "--server-side",
        "--field-manager=unhazzle",
        "-f",
        "-",
        input=doc % (name, "from-unhazzle"),
    )
    proc = cluster.kubectl(
        "apply",
        "--server-side",
        "--field-manager=someone-else",
        "-f",
        "-",
        input=doc % (name, "from-someone-else"),
        check=False,
    )
    assert proc.returncode != 0
    assert "conflict" in proc.stderr.lower()
    assert '"unhazzle"' in proc.stderr and ".data.k" in proc.stderr
    # The losing manager changed nothing.
    got = cluster.kubectl("get", "configmap", name, "-o", "jsonpath={.data.k}").stdout
    assert got == "from-unhazzle"


@pytest.mark.cluster
def test_api_server_validation_rejects_invalid_object(cluster: Cluster) -> None:
    # Selector that does not match the template's labels: only the server's validation knows.
    bad = """apiVersion: apps/v1
kind: Deployment
metadata: {name: broken, namespace: default}
spec:
  selector: {matchLabels: {app: one}}
  template:
    metadata: {labels: {app: two}}
    spec: {containers: [{name: c, image: busybox}]}
"""
    proc = cluster.kubectl("apply", "--server-side", "--validate=false", "-f", "-", input=bad, check=False)
    assert proc.returncode != 0
    assert "is invalid" in proc.stderr
    assert "`selector` does not match template `labels`" in proc.stderr
    assert cluster.kubectl("get", "deployment", "broken", check=False).returncode != 0


@pytest.mark.cluster
def test_objects_survive_apiserver_restart(cluster: Cluster) -> None:
    name = f"durable-{uuid.uuid4().hex[:6]}"
    cluster.kubectl("create", "configmap", name, "--from-literal=k=v")
    before = json.loads(cluster.kubectl("get", "configmap", name, "-o", "json").stdout)
    cluster.restart_apiserver()
    after = json.loads(cluster.kubectl("get", "configmap", name, "-o", "json").stdout)
    assert after["metadata"]["uid"] == before["metadata"]["uid"]
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    assert after["data"] == {"k": "v"}


@pytest.mark.cluster
def test_dev_cluster_command_up_kubeconfig_down(cluster_bin_dir: Path, tmp_path: Path) -> None:
    """The human entry point starts its own plane and leaves nothing behind on `down`."""
    cli = [sys.executable, "-m", "unhazzle.devcluster.cluster"]
    state_dir = tmp_path / "state"
    try:
        up = subprocess.run(
            [*cli, "up", "--state-dir", str(state_dir), "--machines", "simulated"],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert up.returncode == 0, up.stderr
        kc = subprocess.run(
            [*cli, "kubeconfig", "--state-dir", str(state_dir)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        nodes = subprocess.run(
            [str(cluster_bin_dir / "kubectl"), "get", "nodes", "-o", "name"],
            capture_output=True,
            text=True,
            env={**os.environ, "KUBECONFIG": kc},
            check=True,
        )
        assert nodes.stdout.split() == [f"node/{n}" for n in devcluster.DEFAULT_NODES]
        state = devcluster.ClusterState.load(state_dir)
        assert state is not None
        pids = list(state.pids.values())
    finally:
        subprocess.run([*cli, "down", "--state-dir", str(state_dir)], check=False, timeout=120)
    assert not [pid for pid in pids if os.path.exists(f"/proc/{pid}")]
    assert devcluster.http_status(f"{state.server}/readyz", devcluster._unverified_context()) == 0


@pytest.mark.cluster
def test_logs_flow_from_kwok_through_the_api_server(cluster: Cluster) -> None:
    # `kubectl logs` makes the API server call the node's kubelet API, which kwok serves.
    _apply_app(cluster)
    cluster.kubectl("wait", "-n", "smoke", "deployment/web", "--for=condition=Available", "--timeout=120s")
    proc = cluster.kubectl("logs", "-n", "smoke", "deployment/web", "--tail=5")
    assert "fake container log line from kwok" in proc.stdout


@pytest.mark.cluster
def test_server_reports_the_pinned_release(cluster: Cluster) -> None:
    versions = json.loads(cluster.kubectl("version", "-o", "json").stdout)
    assert versions["serverVersion"]["gitVersion"] == devcluster.K8S_VERSION
    assert versions["clientVersion"]["gitVersion"] == devcluster.K8S_VERSION
