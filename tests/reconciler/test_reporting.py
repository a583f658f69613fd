"""Each environment's status after a pass, on a reconciler with a stand-in client: what a stop
(SIGTERM) does to the report. The whole behaviour against a port where nothing listens is
tests/reconciler/test_reconcile_cli.py."""

from __future__ import annotations

import io
import json
from typing import Any

from unhazzle.reconciler.cluster.client import ClusterError
from unhazzle.reconciler.objects import Ref
from unhazzle.reconciler.run.reconciler import Reconciler
from unhazzle.reconciler.run.state import EnvOutcome, LoopOptions
from unhazzle.reconciler.run.telemetry import Log

KEYS = ["shop/production", "shop/staging", "blog/production", "blog/staging"]
GONE = ClusterError("ConfigMap (v1)", 0, "the cluster at https://k8s:6443 does not answer")  # no answer


class _Client:
    """Status reads find nothing; status writes fail as *failing* says (its namespace to the
    error), and every namespace asked is kept in order."""

    def __init__(self, failing: dict[str, ClusterError]) -> None:
        self.failing = failing
        self.written: list[str] = []

    def get(self, ref: Ref) -> None:
        return None

    def apply(self, obj: dict[str, Any]) -> dict[str, Any]:
        namespace = obj["metadata"]["namespace"]
        self.written.append(namespace)
        if namespace in self.failing:
            raise self.failing[namespace]
        return obj


def _report(failing: dict[str, ClusterError], *, stopped: bool) -> tuple[_Client, list[dict[str, Any]]]:
    client, out = _Client(failing), io.StringIO()
    rec = Reconciler(client, object(), LoopOptions(), log=Log(out))  # type: ignore[arg-type]
    if stopped:
        rec.stop.set()
    rec.report([EnvOutcome(key, key.replace("/", "-"), "c1") for key in KEYS])
    return client, [json.loads(line) for line in out.getvalue().splitlines()]


def test_a_stop_with_the_api_server_gone_ends_the_report_at_the_first_unanswered_write() -> None:
    client, events = _report({"shop-staging": GONE}, stopped=True)
    assert client.written == ["shop-production", "shop-staging"]
    given_up = [e for e in events if e["event"] == "status.not_reported"]
    assert [e["environments"] for e in given_up] == [["blog/production", "blog/staging"]]


def test_a_write_the_server_refuses_ends_nothing_even_when_stopping() -> None:
    refused = ClusterError("ConfigMap (v1)", 422, "data: too long")
    client, events = _report({"shop-staging": refused}, stopped=True)
    assert client.written == ["shop-production", "shop-staging", "blog-production", "blog-staging"]
    assert not [e for e in events if e["event"] == "status.not_reported"]


def test_without_a_stop_every_status_is_tried_though_the_server_does_not_answer() -> None:
    client, _ = _report({"shop-staging": GONE, "blog-production": GONE}, stopped=False)
    assert client.written == ["shop-production", "shop-staging", "blog-production", "blog-staging"]
