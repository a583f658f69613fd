"""Health followed by WATCHes on the real API server (simulated machines): one LIST per kind, then
changes arrive without listing again, also after the server ends a watch (timeoutSeconds) or a
proxy cuts it. And the reconciler's own health wait lists each kind once, then watches (counted
at the HTTP level by our proxy). What 410 Gone does is in tests/reconciler/test_watch.py: this
server's watch cache accepts any resourceVersion it has not yet compacted away (5 minutes)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.envrepo import files
from tests.support.faultproxy import FaultProxy
from tests.support.reconcile import Env
from unhazzle.reconciler.cluster.client import Client, connect
from unhazzle.reconciler.cluster.watch import NamespaceWatch
from unhazzle.reconciler.sync import health
from unhazzle.shared.names import MANAGED_BY, OURS

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(300)]


def _deployment(name: str, replicas: int) -> dict[str, Any]:
    labels = {"app": name, MANAGED_BY: OURS}
    pod = {"containers": [{"name": name, "image": "ghcr.io/acme/app:1"}]}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": labels},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": labels}, "spec": pod}},
    }  # fmt: skip


def _until(check: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "not in time"
        time.sleep(0.1)


@pytest.fixture
def namespace(cluster: Any, request: pytest.FixtureRequest) -> Iterator[str]:
    name = f"watch-{request.node.name.split('_')[-1][:20].lower()}-{int(time.time() * 1000) % 100000}"
    cluster.kubectl("create", "namespace", name)
    yield name
    cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)


def _watched(client: Client, namespace: str, **options: Any) -> NamespaceWatch:
    watch = NamespaceWatch(
        client, health.HEALTH_KINDS, namespace=namespace, selector=f"{MANAGED_BY}={OURS}",
        keep=health.essentials, **options,
    )  # fmt: skip
    watch.start()
    return watch


def _verdict(watch: NamespaceWatch) -> health.Health:
    return health.assess(watch.objects())


def test_health_changes_arrive_by_watch_without_listing_again(cluster: Any, namespace: str) -> None:
    client = connect(str(cluster.kubeconfig))
    manifest = _deployment("api", 1)
    manifest["metadata"]["namespace"] = namespace
    client.apply(manifest)
    watch = _watched(client, namespace)
    try:
        _until(lambda: _verdict(watch).healthy)
        cluster.kubectl("-n", namespace, "scale", "deployment", "api", "--replicas=3")
        _until(lambda: _ready(watch, 3) and _verdict(watch).healthy)
        assert client.requests["LIST"] == len(health.HEALTH_KINDS)  # one each, never again
        assert client.requests["WATCH"] == len(health.HEALTH_KINDS)
    finally:
        watch.stop()


def _ready(watch: NamespaceWatch, count: int) -> bool:
    found = [o for o in watch.objects() if o["kind"] == "Deployment"]
    return bool(found) and found[0]["status"].get("availableReplicas") == count


def test_watch_resumes_after_the_server_ends_it_and_after_a_proxy_cuts_it(
    cluster: Any, namespace: str, tmp_path: Path
) -> None:
    with FaultProxy(Path(cluster.kubeconfig)) as proxy:
        client = connect(str(proxy.kubeconfig(tmp_path / "proxy.kubeconfig")))
        watch = _watched(client, namespace, timeout_seconds=1)  # the server ends each after 1 s
        try:
            _until(lambda: client.requests["WATCH"] >= 3 * len(health.HEALTH_KINDS), 30)
            manifest = _deployment("web", 1)
            manifest["metadata"]["namespace"] = namespace
            cluster.kubectl("apply", "-f", "-", input=json.dumps(manifest))
            _until(lambda: _ready(watch, 1))
            assert proxy.cut_watches() > 0  # cut mid-stream; watched again from where it was
            cluster.kubectl("-n", namespace, "scale", "deployment", "web", "--replicas=2")
            _until(lambda: _ready(watch, 2))
            assert client.requests["LIST"] == len(health.HEALTH_KINDS)
        finally:
            watch.stop()


def test_reconcile_waits_for_health_by_watch_and_lists_each_kind_once(
    env: Env, cli: Callable[..., Any]
) -> None:
    env.repo.publish(files("watched"))
    code, events, _ = env.once(cli)
    assert code == 0, events[-5:]
    ready = [e for e in events if e["event"] == "health.ready"]
    assert [e["environment"] for e in ready] == ["watched/production"]
    asked = [p for m, p in env.requests if m == "GET" and "/namespaces/watched-production/" in p]
    health_lists = [p for p in asked if "labelSelector" in p and "watch=true" not in p]
    watches = [p for p in asked if "watch=true" in p]
    assert len(health_lists) == len(health.HEALTH_KINDS)  # listed once, then followed by watches
    assert len(watches) >= len(health.HEALTH_KINDS)


def test_an_unchanged_environment_is_told_healthy_from_what_its_pass_listed(
    env: Env, cli: Callable[..., Any]
) -> None:
    """Once healthy, a `--once` with nothing to change reads its apps once (the pass's own LIST,
    which also finds drift) and tells health from that: no second LIST of them, no watch."""
    env.repo.publish(files("unchanged"))
    code, events, _ = env.once(cli)
    assert code == 0, events[-5:]
    code, events, _ = env.once(cli)
    assert code == 0, events[-5:]
    assert [e["environment"] for e in events if e["event"] == "health.ready"] == ["unchanged/production"]
    asked = [p for m, p in env.requests if m == "GET" and "/namespaces/unchanged-production/" in p]
    assert [p for p in asked if "watch=true" in p] == []
    apps = [p for p in asked if p.split("?")[0].endswith("/deployments")]
    assert len(apps) == 1 and "labelSelector" not in apps[0], apps
    assert [p for _, p in env.writes() if "/leases/" not in p] == []  # (the leader lease's aside)
