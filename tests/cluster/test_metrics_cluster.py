"""`unhazzle metrics` against the real metrics API (tests/cluster): kwok emulates each instance's
CPU and memory (its ClusterResourceUsage reads them from the instance's annotations), and the
metrics-server built by unhazzle/devcluster/builder/build.sh serves them through the API server's aggregator."""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, Result
from tests.support.manifests import rendered
from unhazzle.devcluster import cluster as devcluster
from unhazzle.devcluster import metrics as devmetrics

pytest.importorskip("tests.cluster.plugin", reason="the local control plane (branch cluster) is not here")
pytestmark = pytest.mark.cluster

SPEC = """\
version: 1
project: mx
region: fsn1
environments: {production: {}}
apps:
  api: {image: "ghcr.io/acme/api:1.0", port: 8080, size: {cpu: 0.25, memory: 256MB}, instances: {min: 2, max: 2}}
  jobs: {image: "ghcr.io/acme/jobs:1.0", port: 8080, size: {cpu: 1, memory: 1GB}, instances: {min: 1, max: 1}}
"""
# What kwok reports for each app's instances: CPU in cores, memory in MiB.
USAGE = {"api": ("120m", "200Mi"), "jobs": ("750m", "900Mi")}
RunCli = Callable[..., Result]


def manifests() -> str:
    """The spec rendered by unhazzle, each app's instances annotated with their emulated usage."""

    def annotate(app: str, template: dict[str, Any]) -> None:
        cpu, memory = USAGE[app]
        annotations = template["metadata"].setdefault("annotations", {})
        annotations |= {devmetrics.USAGE_CPU: cpu, devmetrics.USAGE_MEMORY: memory}

    return rendered(SPEC, annotate)


@pytest.fixture(scope="module")
def measured(cluster: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Path]]:
    """The apps deployed, once the metrics API has measured every instance (CPU is a rate, so
    metrics-server needs two scrapes of kwok, 10 s apart)."""
    if not cluster.state.metrics_server_port:
        pytest.fail(f"no metrics-server in {cluster.state.bin_dir}: run `unhazzle dev-cluster build`")
    spec = tmp_path_factory.mktemp("mx") / "unhazzle.yaml"
    spec.write_text(SPEC)
    cluster.kubectl("apply", "--server-side", "-f", "-", input=manifests())

    def all_measured() -> bool:
        proc = cluster.kubectl("get", "--raw", "/apis/metrics.k8s.io/v1beta1/namespaces/mx-production/pods")
        return len(json.loads(proc.stdout)["items"]) == 3

    deadline = time.monotonic() + 90
    while not all_measured():
        assert time.monotonic() < deadline, "the metrics API never measured all 3 instances"
        time.sleep(1)
    try:
        yield cluster, spec
    finally:
        cluster.kubectl("delete", "namespace", "mx-production", "--wait=false", check=False)


def run_metrics(cli: RunCli, measured: tuple[Any, Path], *args: str) -> Result:
    cluster, spec = measured
    result = cli("metrics", *args, "--spec", str(spec), "--kubeconfig", str(cluster.kubeconfig))
    assert result.code == 0, result.err
    return result


def test_metrics_shows_each_instance_against_its_size(cli: RunCli, measured: tuple[Any, Path]) -> None:
    lines = run_metrics(cli, measured).out.splitlines()
    assert lines[0] == "production:"
    api = [line for line in lines if line.startswith("  api [")]
    jobs = [line for line in lines if line.startswith("  jobs [")]
    assert len(api) == 2 and len(jobs) == 1, lines
    for line in api:
        assert line.endswith("]  CPU 0.12 of 0.25 (48%, may burst to 0.5), memory 200 MB of 256 MB (78%)")
    assert jobs[0].endswith("]  CPU 0.75 of 1 (75%, may burst to 2), memory 900 MB of 1024 MB (88%)")
    assert "not available" not in "\n".join(lines)


def test_metrics_one_app_as_json_carries_the_numbers(cli: RunCli, measured: tuple[Any, Path]) -> None:
    found = json.loads(run_metrics(cli, measured, "api", "--env", "production", "--output", "json").out)
    env = found["environments"][0]
    assert env["environment"] == "production"
    assert [row["app"] for row in env["instances"]] == ["api", "api"]
    for row in env["instances"]:
        # CPU is metrics-server's rate over kwok's cumulative counter: exact to within a little.
        assert row["cpu"] == pytest.approx(0.12, abs=0.003)
        assert (row["cpu_size"], row["cpu_limit"]) == (0.25, 0.5)
        assert (row["memory_mb"], row["memory_size_mb"], row["memory_limit_mb"]) == (200, 256, 256)
        assert row["memory_percent_of_size"] == 78
    assert not any("CPU and memory" in note for note in env["notes"])


def test_metrics_follow_a_change_in_usage(cli: RunCli, measured: tuple[Any, Path]) -> None:
    cluster, _ = measured
    proc = cluster.kubectl("-n", "mx-production", "get", "pods", "-l", "unhazzle.io/app=jobs", "-o", "name")
    pod = proc.stdout.split()[0]
    cluster.kubectl("-n", "mx-production", "annotate", "--overwrite", pod, f"{devmetrics.USAGE_MEMORY}=300Mi")

    def memory() -> int:
        found = json.loads(run_metrics(cli, measured, "jobs", "--output", "json").out)
        return int(found["environments"][0]["instances"][0]["memory_mb"])

    deadline = time.monotonic() + 60
    while memory() != 300:
        assert time.monotonic() < deadline, f"memory still {memory()} MB"
        time.sleep(1)


def test_metrics_api_registered_on_the_plane(measured: tuple[Any, Path]) -> None:
    cluster, _ = measured
    status, body = devcluster.api_request(
        cluster.state, "GET", f"/apis/apiregistration.k8s.io/v1/apiservices/{devmetrics.APISERVICE}"
    )
    assert status == 200
    available = next(c for c in body["status"]["conditions"] if c["type"] == "Available")
    assert available["status"] == "True"
    assert body["spec"]["service"] == {
        "name": "metrics-server", "namespace": "kube-system", "port": cluster.state.metrics_server_port,
    }  # fmt: skip
    assert "insecureSkipTLSVerify" not in body["spec"]


def test_metrics_server_is_the_pinned_release(cluster: Any) -> None:
    versions = (ROOT / "unhazzle" / "devcluster" / "builder" / "versions.env").read_text()
    match = re.search(r"^METRICS_SERVER_VERSION=(\S+)$", versions, re.M)
    assert match is not None
    binary = Path(cluster.state.bin_dir) / devmetrics.BINARY
    proc = subprocess.run([str(binary), "--version"], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == match.group(1)
