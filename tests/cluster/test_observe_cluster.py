"""`status`, `events`, `logs` and `metrics` against the real control plane (tests/cluster).

Each plain-words message is provoked through the real API server: the real scheduler leaves an
instance pending; a second kwok process, with the Stages in tests/fixtures/observe-stages.yaml,
drives instances placed on its node `failures-0` into crash loops, out-of-memory kills, image
download failures and failing health checks (and emits the events a kubelet would); the plane's
own kwok runs the healthy ones and serves their logs from a file (ClusterLogs).
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, Result
from tests.observe.test_prometheus import serve_fake_prometheus
from tests.support.envrepo import beyond_any_machine
from tests.support.manifests import rendered
from tests.support.polling import wait_for
from unhazzle.devcluster import cluster as devcluster
from unhazzle.devcluster import metrics as devmetrics

pytest.importorskip("tests.cluster.plugin", reason="the local control plane (branch cluster) is not here")
pytestmark = pytest.mark.cluster

STAGES = ROOT / "tests" / "fixtures" / "observe-stages.yaml"
FAILURES_NODE = "failures-0"
SPEC = """\
version: 1
project: obs
region: fsn1
environments: {production: {}}
apps:
  web: {image: "ghcr.io/acme/web:1.0", port: 8080, instances: {min: 2, max: 2}}
  oom: {image: "ghcr.io/acme/oom:1.0", port: 8080, size: {memory: 512MB}, instances: {min: 1, max: 1}}
  crash: {image: "ghcr.io/acme/crash:1.0", port: 8080, instances: {min: 1, max: 1}}
  fetch: {image: "ghcr.io/acme/fetch:1.4.3", port: 8080, instances: {min: 1, max: 1}}
  sick: {image: "ghcr.io/acme/sick:1.0", port: 8080, health: {path: /healthz}, instances: {min: 1, max: 1}}
  huge: {image: "ghcr.io/acme/huge:1.0", port: 8080, instances: {min: 1, max: 1}}
"""
CRASH = {"unhazzle.test/scenario": "crashloop"}
SCENARIOS: dict[str, dict[str, str]] = {
    "oom": CRASH
    | {"unhazzle.test/reason": "OOMKilled", "unhazzle.test/exit-code": "137", "unhazzle.test/restarts": "3"},
    "crash": CRASH
    | {"unhazzle.test/reason": "Error", "unhazzle.test/exit-code": "1", "unhazzle.test/restarts": "5"},
    "fetch": {"unhazzle.test/scenario": "image"},
    "sick": {"unhazzle.test/scenario": "unhealthy"},
}
RunCli = Callable[..., Result]


def manifests(spec: str) -> str:
    """The spec rendered by unhazzle; the scenario apps are placed on the failures node."""

    def place(name: str, template: dict[str, Any]) -> None:
        if name in SCENARIOS:
            template["metadata"].setdefault("annotations", {}).update(SCENARIOS[name])
            template["spec"]["nodeName"] = FAILURES_NODE
            template["spec"]["tolerations"] = [{"key": "unhazzle.test/failures", "operator": "Exists"}]

    return beyond_any_machine(rendered(spec, place), "huge")


@pytest.fixture(scope="module")
def failures(cluster: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A second kwok with our Stages, owning only the tainted node `failures-0`."""
    logs = tmp_path_factory.mktemp("kwok-failures") / "kwok.log"
    argv = [
        f"{cluster.state.bin_dir}/kwok", f"--kubeconfig={cluster.kubeconfig}", f"--config={STAGES}",
        "--manage-all-nodes=false", "--manage-nodes-with-annotation-selector=unhazzle.test/node=failures",
        "--server-address=127.0.0.1:0", "--node-ip=127.0.0.1",
    ]  # fmt: skip
    with logs.open("w") as sink:
        proc = subprocess.Popen(argv, stdout=sink, stderr=subprocess.STDOUT)
    node = {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": FAILURES_NODE, "annotations": {"unhazzle.test/node": "failures"}},
        "spec": {"taints": [{"key": "unhazzle.test/failures", "value": "true", "effect": "NoSchedule"}]},
    }  # fmt: skip
    try:
        cluster.kubectl("apply", "-f", "-", input=json.dumps(node))
        cluster.kubectl("apply", "--server-side", "-f", "-", input=manifests(SPEC))
        yield cluster
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        cluster.kubectl("delete", "namespace", "obs-production", "--wait=false", check=False)


@pytest.fixture(scope="module")
def spec_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("obs") / "unhazzle.yaml"
    path.write_text(SPEC)
    return path


def status_json(cli: RunCli, failures: Any, spec_file: Path) -> dict[str, Any]:
    result = cli(
        "status", "--spec", str(spec_file), "--kubeconfig", str(failures.kubeconfig), "--output", "json"
    )
    assert result.code == 0, result.err
    env = json.loads(result.out)["environments"][0]
    return {app["name"]: app for app in env["apps"]} | {"_env": env}


EXPECTED = [
    ("oom", "ran out of memory at its 512 MB limit (3 times in 1 h): raise size.memory"),
    ("crash", "keeps crashing on start (exit code 1): see unhazzle logs crash --previous"),
    (
        "fetch",
        "image cannot be downloaded: tag 1.4.3 not found: check the image in unhazzle.yaml (unhazzle inspect ghcr.io/acme/fetch:1.4.3)",
    ),
    ("sick", "not answering its health check at /healthz: see unhazzle logs sick"),
    (
        "huge",
        "waiting for capacity in the cluster: not enough CPU free; lower size or instances.min, or ask for more machines",
    ),
]


@pytest.mark.parametrize(("app", "message"), EXPECTED, ids=[e[0] for e in EXPECTED])
def test_status_message_from_the_cluster(
    cli: RunCli, failures: Any, spec_file: Path, app: str, message: str
) -> None:
    def said() -> bool:
        findings = status_json(cli, failures, spec_file)[app]["findings"]
        return any(f"{f['message']}: {f['hint']}" == message for f in findings)

    assert wait_for(said), status_json(cli, failures, spec_file)[app]


def test_status_running_app_is_healthy(cli: RunCli, failures: Any, spec_file: Path) -> None:
    failures.kubectl("-n", "obs-production", "scale", "deployment/web", "--replicas=2")
    web = wait_for(lambda: (a := status_json(cli, failures, spec_file)["web"])["health"] == "healthy" and a)
    assert web["instances"] == {"ready": 2, "wanted": 2, "min": 2, "max": 2}
    assert web["findings"] == []
    assert len(web["instance_list"]) == 2


def test_status_text_restarts_and_no_kubernetes_words(cli: RunCli, failures: Any, spec_file: Path) -> None:
    wait_for(lambda: status_json(cli, failures, spec_file)["oom"]["restarts_last_hour"] == 3)
    result = cli("status", "--spec", str(spec_file), "--kubeconfig", str(failures.kubeconfig))
    assert result.code == 0
    assert "production (production): failing" in result.out
    oom = next(line for line in result.out.splitlines() if line.startswith("  oom "))
    assert oom.split()[1:] == ["failing", "0/1", "instances", "ready;", "3", "restarts", "in", "1", "h"]
    for word in ("pod", "deployment", "replica", "namespace", "hpa", "container"):
        assert word not in result.out.lower()


def test_events_translated_from_the_cluster(cli: RunCli, failures: Any, spec_file: Path) -> None:
    def text() -> str:
        result = cli("events", "--spec", str(spec_file), "--kubeconfig", str(failures.kubeconfig))
        assert result.code == 0, result.err
        return result.out

    wanted = [
        "production/huge: waiting for capacity in the cluster",
        "production/crash: keeps crashing; waiting before the next restart",
        "production/fetch: image cannot be downloaded: tag not found",
        "production/sick: not answering its health check (answered 503)",
        # the manifests leave the count to the autoscaler: one instance first, then its minimum
        "production/web: new version started with 1 instance",
        "production/web: scaling up to 2 instances",
    ]
    wait_for(lambda: all(w in text() for w in wanted))
    out = text()
    for line in wanted:
        assert line in out
    only = cli("events", "crash", "--spec", str(spec_file), "--kubeconfig", str(failures.kubeconfig)).out
    assert "production/crash:" in only and "production/web:" not in only


@pytest.fixture
def without_metrics_api(failures: Any) -> Iterator[Any]:
    """The plane as a cluster without a metrics service: its metrics API unregistered for the
    test (metrics-server keeps running), registered again after it."""
    state = failures.state
    if state.metrics_server_port:
        # Unregister the metrics API (metrics-server keeps running); register_metrics_api undoes it.
        devcluster.api_request(
            state, "DELETE", f"/apis/apiregistration.k8s.io/v1/apiservices/{devmetrics.APISERVICE}"
        )
    try:
        yield failures
    finally:
        if state.metrics_server_port:
            devcluster.register_metrics_api(state)
            devcluster.wait_metrics_api(state, timeout=60)


def test_metrics_without_metrics_service_is_one_line_not_an_error(
    cli: RunCli, without_metrics_api: Any, spec_file: Path
) -> None:
    failures = without_metrics_api
    result = cli("metrics", "--spec", str(spec_file), "--kubeconfig", str(failures.kubeconfig))
    assert result.code == 0, result.err
    assert "  CPU and memory: not available (the cluster has no metrics service installed)" in result.out


def test_logs_merge_instances_with_prefix(cli: RunCli, failures: Any, spec_file: Path) -> None:
    wait_for(lambda: status_json(cli, failures, spec_file)["web"]["instances"]["ready"] == 2)
    result = cli("logs", "web", "--spec", str(spec_file), "--kubeconfig", str(failures.kubeconfig))
    assert result.code == 0, result.err
    prefixes = {line.split("]")[0] for line in result.out.splitlines()}
    assert len(prefixes) == 2
    assert all(line.startswith("[") and "] " in line for line in result.out.splitlines())
    one = cli(
        "logs",
        "web",
        "--instance",
        "1",
        "--tail",
        "1",
        "--spec",
        str(spec_file),
        "--kubeconfig",
        str(failures.kubeconfig),
    )
    assert one.code == 0 and len(one.out.splitlines()) == 1


def test_logs_previous_without_restart_says_so(cli: RunCli, failures: Any, spec_file: Path) -> None:
    result = cli(
        "logs", "web", "--previous", "--spec", str(spec_file), "--kubeconfig", str(failures.kubeconfig)
    )
    assert result.code == 0
    assert result.out == ""
    assert result.err.count("has not restarted, so there is no previous run") == 2


def test_logs_follow_picks_up_new_instances_and_exits_cleanly_on_ctrl_c(
    failures: Any, spec_file: Path
) -> None:
    env = {**os.environ, "KUBECONFIG": str(failures.kubeconfig)}
    argv = [
        sys.executable,
        "-m",
        "unhazzle",
        "logs",
        "web",
        "--follow",
        "--tail",
        "1",
        "--spec",
        str(spec_file),
    ]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout or []], daemon=True).start()

    def prefixes_until(done: Callable[[set[str]], bool]) -> set[str]:
        seen: set[str] = set()
        deadline = time.monotonic() + 60
        while not done(seen) and time.monotonic() < deadline:
            with contextlib.suppress(queue.Empty):
                seen.add(lines.get(timeout=1).split("]")[0])
        return seen

    try:
        first = prefixes_until(lambda seen: len(seen) == 2)
        assert len(first) == 2
        failures.kubectl("-n", "obs-production", "scale", "deployment/web", "--replicas=3")
        later = prefixes_until(lambda seen: bool(seen - first))
        assert later - first, f"no new instance appeared; saw {later}"
    finally:
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=20)
        failures.kubectl("-n", "obs-production", "scale", "deployment/web", "--replicas=2")
    assert code == 0
    assert "Traceback" not in (proc.stderr.read() if proc.stderr else "")


def test_metrics_with_prometheus_names_the_series(cli: RunCli, failures: Any, spec_file: Path) -> None:
    with serve_fake_prometheus() as prom:
        metrics_with_prometheus(cli, failures, spec_file, prom)


def metrics_with_prometheus(cli: RunCli, failures: Any, spec_file: Path, prom: Any) -> None:
    result = cli(
        "metrics",
        "web",
        "--spec",
        str(spec_file),
        "--kubeconfig",
        str(failures.kubeconfig),
        "--prometheus",
        prom.url,
    )
    assert result.code == 0, result.err
    assert (
        "  requests per app (nginx_ingress_controller_requests, last 5m):\n    web: 12.25/s, errors (5xx) 0.50/s\n"
        in result.out
    )
    assert "api:" not in result.out
    assert prom.queries[0].endswith('{namespace="obs-production"}[5m]))')


def test_observe_by_project_names_an_unknown_environment_or_app(cli: RunCli, cluster: Any) -> None:
    """With --project and no spec, the cluster says which environments and apps there are: a
    typo in either is bad input with a suggestion, as it is with a spec."""
    project = "byname"
    for env in ("production", "staging"):
        labels = {"unhazzle.io/project": project, "unhazzle.io/environment": env, "unhazzle.io/badge": env}
        cluster.kubectl("create", "namespace", f"{project}-{env}")
        cluster.kubectl("label", "namespace", f"{project}-{env}", *[f"{k}={v}" for k, v in labels.items()])
    cluster.kubectl(
        "-n", f"{project}-production", "create", "deployment", "web", "--image=ghcr.io/acme/web:1"
    )
    cluster.kubectl("-n", f"{project}-production", "label", "deployment", "web",
                    "app.kubernetes.io/managed-by=unhazzle", "unhazzle.io/app=web")  # fmt: skip
    where = ["--project", project, "--kubeconfig", str(cluster.kubeconfig)]
    for args, said in [
        (
            ["status", "--env", "prod"],
            "--env: error: project byname has no environment 'prod' (did you mean 'production'?)",
        ),
        (["events", "--env", "prod"], "it has production, staging"),
        (
            ["logs", "wbe", "--env", "production"],
            "APP: error: no app 'wbe' runs in project byname (did you mean 'web'?)",
        ),
        (["status", "wbe"], "it runs web"),
    ]:
        result = cli(*args, *where)
        assert result.code == 2, (args, result.err)
        assert said in result.err, (args, result.err)
    assert cli("status", "--env", "production", *where).code == 0
    cluster.kubectl("delete", "--wait=false", "namespace", f"{project}-production", f"{project}-staging")
