"""`unhazzle status`, `events`, `logs`, `metrics`: the report built from an environment's objects,
the log merge, and bad flags. The same commands against the real control plane are in
tests/test_observe_cluster.py."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import MINIMAL, Result
from tests.observe.test_words import (
    BACKOFF,
    KUBE_WORDS,
    NO_READINGS,
    NOW,
    OOM_LAST,
    _condition,
    claim,
    hpa,
    pod,
    ts,
)
from unhazzle.commands.events import translate
from unhazzle.commands.logs import merge, split_stamp
from unhazzle.observe import overview
from unhazzle.observe.usage import usage_rows


def deployment(name: str, *, replicas: int, ready: int, volume: bool = False) -> dict[str, Any]:
    volumes = [{"name": "data", "persistentVolumeClaim": {"claimName": f"{name}-data"}}] if volume else []
    return {
        "metadata": {"name": name, "labels": {"app.kubernetes.io/managed-by": "unhazzle"}},
        "spec": {
            "replicas": replicas,
            "template": {
                "spec": {
                    "containers": [{"name": name, "image": f"ghcr.io/acme/{name}:1.4.3"}],
                    "volumes": volumes,
                }
            },
        },
        "status": {
            "replicas": replicas,
            "readyReplicas": ready,
            "availableReplicas": ready,
            "updatedReplicas": replicas,
        },
    }


def named(obj: dict[str, Any], name: str) -> dict[str, Any]:
    return {**obj, "metadata": {**obj.get("metadata", {}), "name": name}}


STATUS_RECORD = {"status.json": json.dumps({
    "revision": "4f1c2e9a8b7d6c5e4f3a", "source": {"commit": "9f8e7d6c5b4a", "message": "Bump web to 1.4.3\n\nlong body"},
    "applied_at": ts(3), "health": "healthy", "last_error": None,
})}  # fmt: skip


def snapshot() -> overview.Snapshot:
    crashing = pod(state=BACKOFF, last=OOM_LAST, restarts=3, ready=False)
    healthy = named(pod(), "web-7d4b9c6f5-abcde")
    cache = {
        **pod(),
        "metadata": {
            "name": "cache-5c6d7e8f9-qwert",
            "creationTimestamp": ts(30),
            "labels": {"unhazzle.io/app": "cache"},
        },
    }
    cache["spec"]["containers"][0]["name"] = "cache"
    cache["status"]["containerStatuses"][0]["name"] = "cache"
    return overview.Snapshot(
        namespace="shop-production",
        exists=True,
        labels={"unhazzle.io/badge": "production"},
        deployments=[
            deployment("web", replicas=2, ready=1),
            deployment("cache", replicas=1, ready=1, volume=True),
        ],
        pods=[crashing, healthy, cache],
        autoscalers=[named(hpa(current=35, desired=2), "web")],
        claims=[named(claim("Bound"), "cache-data")],
        reconciler=STATUS_RECORD,
    )


def test_environment_report_apps_in_plain_words() -> None:
    env = overview.environment_report(
        snapshot(), name="production", badge="production", apps=["web", "cache", "worker"], now=NOW
    )
    web, cache, worker = env["apps"]
    assert env["health"] == "degraded"
    assert web["instances"] == {"ready": 1, "wanted": 2, "min": 2, "max": 10}
    assert web["health"] == "degraded"
    assert web["restarts_last_hour"] == 3
    assert web["findings"][0]["message"] == "ran out of memory at its 512 MB limit (3 times in 1 h)"
    assert web["findings"][0]["hint"] == "raise size.memory"
    assert [i["id"] for i in web["instance_list"]] == ["abcde", "x2kqp"]
    assert cache["health"] == "healthy" and cache["volume"]["message"] == "volume (10 GB) attached"
    assert worker["health"] == "missing" and worker["deployed"] is False
    assert env["deploy"]["revision"] == "4f1c2e9a8b7d6c5e4f3a"
    assert env["deploy"]["source_commit"] == "9f8e7d6c5b4a"


def test_status_lists_apps_of_ours_not_what_was_made_by_hand() -> None:
    snap = snapshot()
    by_hand = deployment("debug-shell", replicas=1, ready=1)
    by_hand["metadata"]["labels"] = {"app": "debug-shell"}
    ours = deployment("old-worker", replicas=1, ready=1)
    ours["metadata"]["labels"] = {"app.kubernetes.io/managed-by": "unhazzle", "unhazzle.io/app": "old-worker"}
    snap.deployments += [by_hand, ours]
    env = overview.environment_report(
        snap, name="production", badge="production", apps=["web", "cache"], now=NOW
    )
    assert [a["name"] for a in env["apps"]] == ["web", "cache", "old-worker"]


def test_status_text_reads_like_the_contract() -> None:
    env = overview.environment_report(
        snapshot(), name="production", badge="production", apps=["web", "cache"], now=NOW
    )
    lines = overview.text(overview.report("shop", [env], now=NOW), now=NOW)
    assert lines[0] == "production (production): degraded"
    assert (
        lines[1]
        == '  deploy: revision 4f1c2e9a8b7d from commit 9f8e7d6c5b4a "Bump web to 1.4.3", applied 3 min ago'
    )
    assert lines[2].startswith(
        "  web    degraded    1/2 instances ready (min 2, max 10); 3 restarts in 1 h; autoscaling 2-10: CPU 35% of target 60%"
    )
    assert lines[3] == "         - ran out of memory at its 512 MB limit (3 times in 1 h): raise size.memory"
    assert lines[4] == "  cache  healthy     1/1 instances ready; volume (10 GB) attached"
    assert not any(KUBE_WORDS.search(line) for line in lines)


def test_status_reports_environment_missing_and_reconciler_error() -> None:
    gone = overview.environment_report(
        overview.Snapshot("shop-staging", exists=False),
        name="staging",
        badge="staging",
        apps=["web"],
        now=NOW,
    )
    assert (gone["health"], gone["apps"]) == ("missing", [])
    snap = snapshot()
    snap.reconciler = {
        "revision": "abc",
        "last_error": "Deployment/shop-production/web: the pod spec is invalid",
    }
    env = overview.environment_report(snap, name="production", badge="production", apps=["cache"], now=NOW)
    text = overview.text(overview.report("shop", [env], now=NOW), now=NOW)
    assert "  reconciler failing: App/shop-production/web: the instance spec is invalid" in text


def test_status_quotes_refused_environment_repo_files_as_written():
    # The guard's reasons name what the files say; a word swap made "only a Environment may be
    # cluster-wide" and "outside the environment's environment". Other errors are still in words.
    refusals = [
        "shop/production/web.yaml:12:3: error: Deployment/web: names the namespace 'other-production', "
        "outside the environment's namespace 'shop-production'",
        "shop/production/x.yaml:1:1: error: ClusterRoleBinding/x has no namespace (only a Namespace "
        "may be cluster-wide)",
    ]
    snap = snapshot()
    snap.reconciler = {"revision": "abc", "last_error": [*refusals, "Deployment/web: no answer"]}
    env = overview.environment_report(snap, name="production", badge="production", apps=["cache"], now=NOW)
    lines = overview.text(overview.report("shop", [env], now=NOW), now=NOW)
    assert "  reconciler failing: App/web: no answer" in lines
    at = lines.index(
        "  latest revision refused, nothing of it applied; fix these files in the environment repo:"
    )
    assert lines[at + 1 : at + 3] == [f"    {r}" for r in refusals]
    assert env["health"] == "degraded"


@pytest.mark.parametrize(
    ("data", "revision", "error"),
    [
        (None, None, None),
        ({}, None, None),
        ({"status.json": "{not json"}, None, None),
        ({"status": json.dumps({"lastAppliedRevision": "r1", "lastError": "boom"})}, "r1", "boom"),
        ({"revision": "r2", "error": ""}, "r2", None),
        (
            {
                "status.json": json.dumps(
                    {"revision": "r3", "errors": ["Deployment/a/b: refused", "x"], "health": "failed"}
                )
            },
            "r3",
            "Deployment/a/b: refused; x",
        ),
        ({"status.json": json.dumps({"revision": "r4", "errors": []})}, "r4", None),
    ],
)
def test_deploy_record_tolerates_shapes(
    data: dict[str, str] | None, revision: str | None, error: str | None
) -> None:
    record = overview.deploy_record(data)
    assert (record or {}).get("revision") == revision
    assert (record or {}).get("last_error") == error


def test_events_translated_and_filtered_by_app_and_time() -> None:
    events = [
        {"reason": "BackOff", "message": "Back-off restarting failed container web in pod web-7d4b9c6f5-x2kqp", "type": "Warning", "count": 7, "lastTimestamp": ts(2), "involvedObject": {"kind": "Pod", "name": "web-7d4b9c6f5-x2kqp"}},
        {"reason": "ScalingReplicaSet", "message": "Scaled up replica set web-7d4b9c6f5 to 2", "type": "Normal", "lastTimestamp": ts(20), "involvedObject": {"kind": "Deployment", "name": "web"}},
        {"reason": "Pulled", "message": "ok", "type": "Normal", "lastTimestamp": ts(200), "involvedObject": {"kind": "Pod", "name": "web-7d4b9c6f5-x2kqp"}},
        {"reason": "Started", "message": "ok", "type": "Normal", "lastTimestamp": ts(1), "involvedObject": {"kind": "Pod", "name": "someone-elses-pod"}},
    ]  # fmt: skip
    rows = translate(events, apps=["web", "cache"], only=None, since=NOW.replace(hour=11))
    assert [(r["app"], r["message"], r["count"], r["warning"]) for r in rows] == [
        ("web", "new version started with 2 instances", 1, False),
        ("web", "keeps crashing; waiting before the next restart", 7, True),
    ]
    assert translate(events, apps=["web", "cache"], only="cache", since=NOW.replace(hour=11)) == []


def test_logs_merge_in_time_order_with_prefix() -> None:
    streams = {
        "x2kqp": [b"2026-01-01T11:59:58.5Z started", b"2026-01-01T11:59:59.000000001Z listening on :8080"],
        "abcde": [b"2026-01-01T11:59:59Z started", b"no timestamp here"],
    }
    assert merge(streams) == [
        "[abcde] no timestamp here",
        "[x2kqp] started",
        "[abcde] started",
        "[x2kqp] listening on :8080",
    ]


@pytest.mark.parametrize(
    ("line", "key", "text"),
    [
        (b"2026-01-01T00:00:00.123Z hello", "2026-01-01T00:00:00.123000000Z", "hello"),
        (b"2026-01-01T00:00:00Z ", "2026-01-01T00:00:00.000000000Z", ""),
        (b"\xff\xfe binary", "", "\ufffd\ufffd binary"),
        (b"plain\r", "", "plain"),
    ],
)
def test_logs_split_stamp(line: bytes, key: str, text: str) -> None:
    assert split_stamp(line) == (key, text)


def test_usage_rows_against_size() -> None:
    metrics = [
        {
            "metadata": {"name": "web-7d4b9c6f5-x2kqp"},
            "containers": [{"name": "web", "usage": {"cpu": "250000000n", "memory": "131072Ki"}}],
        }
    ]
    rows = usage_rows(metrics, [pod()], only=None)
    assert [r.text() for r in rows] == [
        "web [x2kqp]  CPU 0.25 of 0.5 (50%, may burst to 1), memory 128 MB of 512 MB (25%)"
    ]
    assert rows[0].as_json() == {
        "app": "web", "instance": "x2kqp", "cpu": 0.25, "cpu_size": 0.5, "cpu_limit": 1.0,
        "cpu_percent_of_size": 50, "memory_mb": 128, "memory_size_mb": 512, "memory_limit_mb": 512,
        "memory_percent_of_size": 25,
    }  # fmt: skip
    assert usage_rows(metrics, [pod()], only="cache") == []


RunCli = Callable[..., Result]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["status", "--env", "Prod;rm"], "--env: error: 'Prod;rm' is not a name"),
        (["status", "../etc"], "APP: error: '../etc' is not a name"),
        (["status", "--interval", "0"], "--interval: error: 0.0 is out of range"),
        (["events", "--since", "forever"], "--since: error: 'forever' is not a duration"),
        (["logs", "web", "--tail", "-5"], "--tail: error: -5 is out of range"),
        (["logs", "web", "--since", "1y"], "--since: error: '1y' is not a duration"),
        (["logs", "web", "--previous", "--follow"], "--previous: error: cannot be combined with --follow"),
    ],
)
def test_observe_commands_reject_bad_flags(
    cli: RunCli, write_spec: Callable[[str], Path], args: list[str], message: str
) -> None:
    spec = write_spec(MINIMAL)
    result = cli(*args, "--spec", str(spec))
    assert result.code == 2, result.err
    assert message in result.err
    assert "Traceback" not in result.err


def test_status_unknown_app_is_located(cli: RunCli, write_spec: Callable[[str], Path]) -> None:
    spec = write_spec(MINIMAL)
    result = cli("status", "wbe", "--spec", str(spec))
    assert result.code == 2
    assert "unhazzle.yaml:6:1: error: no app named 'wbe'" in result.err.replace(str(spec), "unhazzle.yaml")
    assert "did you mean 'web'" in result.err


def test_status_without_spec_asks_for_one(
    cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = cli("status")
    assert result.code == 2
    assert "unhazzle.yaml: error: no such spec file; give --spec FILE or --project NAME" in result.err


def test_status_unreachable_cluster_is_one_line(
    cli: RunCli, write_spec: Callable[[str], Path], nowhere: Path
) -> None:
    result = cli("status", "--spec", str(write_spec(MINIMAL)), "--kubeconfig", str(nowhere))
    assert result.code == 1
    assert result.err.startswith(
        "environment shop-production: the cluster at http://127.0.0.1:9 does not answer"
    )
    assert len(result.err.strip().splitlines()) == 1


def test_status_bad_kubeconfig_is_one_line(
    cli: RunCli, write_spec: Callable[[str], Path], tmp_path: Path
) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("{{{ not yaml")
    result = cli("status", "--spec", str(write_spec(MINIMAL)), "--kubeconfig", str(kubeconfig))
    assert result.code == 1
    assert result.err.startswith(f"{kubeconfig}: cannot read the cluster connection settings")


def test_status_reads_the_reconcilers_record() -> None:
    """The shape reconciler/sync/status.py writes (ConfigMap unhazzle-status, key status.json)."""
    snap = snapshot()
    snap.reconciler = {"status.json": json.dumps({
        "environment": "shop/production", "namespace": "shop-production", "revision": "aaaa1111bbbb2222",
        "wanted_revision": "cccc3333dddd4444", "health": "failed", "waiting": ["Deployment/shop-production/web: 1 of 2 available"],
        "errors": ["Deployment/shop-production/web: admission webhook denied the request"], "objects": 12,
        "drift_corrected": 0, "applied": 3, "pruned": 0, "updated_at": ts(10), "timings_s": {"apply": 0.4},
    })}  # fmt: skip
    env = overview.environment_report(snap, name="production", badge="production", apps=["cache"], now=NOW)
    assert env["health"] == "failing"
    assert overview.text(overview.report("shop", [env], now=NOW), now=NOW)[1:4] == [
        "  deploy: revision aaaa1111bbbb, applied 10 min ago",
        "  deploying revision cccc3333dddd, waiting for App/shop-production/web: 1 of 2 available",
        "  reconciler failing: App/shop-production/web: admission webhook denied the request",
    ]


def test_status_counts_applied_from_the_apply_and_never_calls_a_refused_revision_deploying() -> None:
    snap = snapshot()
    snap.reconciler = {"status.json": json.dumps({
        "environment": "shop/production", "namespace": "shop-production", "revision": "aaaa1111bbbb2222",
        "wanted_revision": "cccc3333dddd4444", "health": "healthy", "waiting": [],
        "errors": ["shop/production/web.yaml:3:1: error: Service/shop-production/web: refused: Service type NodePort"],
        "updated_at": ts(1), "applied_at": ts(40),
    })}  # fmt: skip
    env = overview.environment_report(snap, name="production", badge="production", apps=["cache"], now=NOW)
    lines = overview.text(overview.report("shop", [env], now=NOW), now=NOW)
    assert (
        lines[1] == "  deploy: revision aaaa1111bbbb, applied 40 min ago"
    )  # not when the status was written
    assert not any("deploying" in line for line in lines)
    assert (
        "  latest revision refused, nothing of it applied; fix these files in the environment repo:" in lines
    )


def test_status_watch_redraws_survives_blips_and_ctrl_c_exits_0(
    write_spec: Callable[[str], Path], tmp_path: Path
) -> None:
    import signal
    import subprocess
    import sys
    import time

    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "x",
        "clusters": [{"name": "x", "cluster": {"server": "http://127.0.0.1:9"}}],
        "contexts": [{"name": "x", "context": {"cluster": "x", "user": "x"}}], "users": [{"name": "x", "user": {}}],
    }))  # fmt: skip
    argv = [
        sys.executable,
        "-m",
        "unhazzle",
        "status",
        "--watch",
        "--interval",
        "0.2",
        "--spec",
        str(write_spec(MINIMAL)),
        "--kubeconfig",
        str(kubeconfig),
    ]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 60
    while (
        sum(x.startswith("unhazzle status, every 0.2 s") for x in lines) < 2 and time.monotonic() < deadline
    ):
        lines.append(proc.stdout.readline())
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=20) == 0
    assert sum(x.startswith("unhazzle status, every 0.2 s") for x in lines) == 2
    blips = [x for x in lines if x.startswith("cannot read the cluster right now")]
    assert blips and all("http://127.0.0.1:9 does not answer" in x for x in blips)
    assert "Traceback" not in (proc.stderr.read() if proc.stderr else "")


def test_status_counts_one_restart_in_the_singular() -> None:
    env = overview.environment_report(
        snapshot(), name="production", badge="production", apps=["web", "cache"], now=NOW
    )
    env["apps"][0]["restarts_last_hour"] = 1
    lines = overview.text(overview.report("shop", [env], now=NOW), now=NOW)
    assert "; 1 restart in 1 h;" in lines[2]


def test_a_note_that_cpu_readings_are_not_in_yet_is_left_out_while_instances_cannot_start() -> None:
    snap = snapshot()
    snap.autoscalers = [
        named(
            _condition(hpa(current=None), "ScalingActive", "False", NO_READINGS, timedelta(seconds=40)), "web"
        )
    ]
    env = overview.environment_report(snap, name="production", badge="production", apps=["web"], now=NOW)
    messages = [f["message"] for f in env["apps"][0]["findings"]]
    assert (
        messages[0].startswith("ran out of memory") and "autoscaling has no CPU readings yet" not in messages
    )
