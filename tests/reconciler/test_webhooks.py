"""Webhooks: a real HTTP receiver on 127.0.0.1 checks payloads, signatures and retries."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.observe.test_status import snapshot
from tests.observe.test_words import NOW
from unhazzle.observe import overview
from unhazzle.reconciler.run import webhooks

SECRET = "s3cret-shared-with-the-receiver"


@dataclass
class Receiver:
    """Answers each POST with the next status from `answers` (then 200) and records it."""

    url: str
    answers: list[int] = field(default_factory=list)
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            data = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            state.received.append(({k.lower(): v for k, v in self.headers.items()}, data))
            code = state.answers.pop(0) if state.answers else 200
            self.send_response(code)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=lambda: server.serve_forever(poll_interval=0.05), daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def failed_deploy() -> dict[str, Any]:
    return webhooks.event(
        "deploy.failed", project="shop", environment="production", app="web",
        message="ran out of memory at its 512 MB limit (3 times in 1 h)", hint="raise size.memory",
        revision="4f1c2e9", source={"commit": "9f8e7d6", "message": "Bump web"},
    )  # fmt: skip


def verify(headers: dict[str, str], data: bytes) -> bool:
    """What a receiver does: recompute the HMAC over timestamp + '.' + body, compare in constant time."""
    expected = hmac.new(
        SECRET.encode(), headers["x-unhazzle-timestamp"].encode() + b"." + data, hashlib.sha256
    )
    return hmac.compare_digest(headers["x-unhazzle-signature"], f"sha256={expected.hexdigest()}")


def test_webhook_json_payload_and_signature(receiver: Receiver) -> None:
    ev = failed_deploy()
    delivery = webhooks.send_event(receiver.url, SECRET, ev)
    assert delivery == webhooks.Delivery(True, 200, 1)
    headers, data = receiver.received[0]
    assert verify(headers, data)
    assert headers["content-type"] == "application/json"
    assert headers["x-unhazzle-event"] == "deploy.failed"
    assert headers["x-unhazzle-delivery"] == ev["id"]
    payload = json.loads(data)
    assert payload == ev
    assert set(payload) >= {"format", "id", "type", "time", "project", "environment", "app", "message"}


def test_webhook_signature_fails_with_another_secret(receiver: Receiver) -> None:
    webhooks.send_event(receiver.url, "not-the-secret", failed_deploy())
    headers, data = receiver.received[0]
    assert not verify(headers, data)


def test_webhook_retries_after_500_with_backoff_and_same_delivery_id(receiver: Receiver) -> None:
    receiver.answers = [500, 503]
    waits: list[float] = []
    delivery = webhooks.send_event(
        receiver.url, SECRET, failed_deploy(), attempts=4, backoff=0.25, sleep=waits.append
    )
    assert (delivery.ok, delivery.attempts) == (True, 3)
    assert waits == [0.25, 0.5]
    assert len({h["x-unhazzle-delivery"] for h, _ in receiver.received}) == 1
    assert all(verify(h, d) for h, d in receiver.received)


def test_webhook_gives_up_after_attempts_and_returns_not_raises(receiver: Receiver) -> None:
    receiver.answers = [500] * 5
    delivery = webhooks.send_event(
        receiver.url, SECRET, failed_deploy(), attempts=3, backoff=0.01, sleep=lambda _: None
    )
    assert (delivery.ok, delivery.status, delivery.attempts) == (False, 500, 3)
    assert "answered 500" in delivery.error
    assert len(receiver.received) == 3


def test_webhook_4xx_is_not_retried(receiver: Receiver) -> None:
    receiver.answers = [401]
    delivery = webhooks.send_event(receiver.url, SECRET, failed_deploy(), sleep=lambda _: None)
    assert (delivery.ok, delivery.status, delivery.attempts) == (False, 401, 1)


def test_webhook_no_answer_is_retried_then_reported() -> None:
    delivery = webhooks.send_event(
        "http://127.0.0.1:9/hook", SECRET, failed_deploy(), attempts=2, sleep=lambda _: None
    )
    assert (delivery.ok, delivery.status, delivery.attempts) == (False, 0, 2)
    assert delivery.error.startswith("http://127.0.0.1:9/hook: no answer")


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/x", "", "javascript:alert(1)"])
def test_webhook_refuses_other_schemes(url: str) -> None:
    assert not webhooks.send_event(url, SECRET, failed_deploy()).ok


def test_webhook_slack_format(receiver: Receiver) -> None:
    webhooks.send_event(receiver.url, SECRET, failed_deploy(), format="slack")
    _, data = receiver.received[0]
    assert json.loads(data) == {
        "text": ":x: shop/production web: deploy failed: ran out of memory at its 512 MB limit (3 times in 1 h)"
    }


def test_webhook_datadog_events_api_format(receiver: Receiver) -> None:
    webhooks.send_event(receiver.url, "dd-api-key-123", failed_deploy(), format="datadog")
    headers, data = receiver.received[0]
    assert headers["dd-api-key"] == "dd-api-key-123"
    assert "x-unhazzle-signature" not in headers
    payload = json.loads(data)
    assert payload["alert_type"] == "error"
    assert payload["tags"] == [
        "env:production",
        "project:shop",
        "service:web",
        "unhazzle_event:deploy.failed",
        "version:4f1c2e9",
    ]
    assert payload["text"] == "ran out of memory at its 512 MB limit (3 times in 1 h)\nraise size.memory"
    assert len(payload["title"]) <= 100


def test_webhook_event_rejects_unknown_type() -> None:
    with pytest.raises(ValueError, match="not an event type"):
        webhooks.event("deploy.exploded", project="shop", environment="production", message="x")


def test_crash_looping_events_from_status_report() -> None:
    env = overview.environment_report(
        snapshot(), name="production", badge="production", apps=["web", "cache"], now=NOW
    )
    found = webhooks.crash_looping_events(overview.report("shop", [env], now=NOW))
    assert [(e["type"], e["app"], e["message"], e["hint"]) for e in found] == [
        (
            "instance.crash_looping",
            "web",
            "ran out of memory at its 512 MB limit (3 times in 1 h)",
            "raise size.memory",
        )
    ]
