"""Webhooks: tell another system that a deploy started, succeeded or failed, or that an app's
instances keep crashing. The one webhook implementation: the reconciler sends through `Webhook`
(`reconcile --webhook URL --webhook-secret-file F --webhook-format json|slack|datadog`):

    send_event(url, secret, event, attempts=5, backoff=0.5, format="json") -> Delivery
    Webhook(url, secret, format).send(event)  # in the background: a slow receiver never
                                              # delays a reconcile; drain() before exit

Formats (payloads documented in the README):
- ``json``: our event, signed: ``X-Unhazzle-Signature: sha256=HEX``, HEX = HMAC-SHA256 with the
  secret over ``"<X-Unhazzle-Timestamp>." + body``, so a receiver can reject replays.
- ``slack``: ``{"text": ...}``, what Slack (and Mattermost, Discord's /slack) incoming webhooks take.
- ``datadog``: the Datadog Events API (POST https://api.datadoghq.com/api/v1/events); the secret
  is sent as the ``DD-API-KEY`` header, which is how Datadog authenticates.

Retries: after a 5xx or 429 answer, or no answer at all, with exponential backoff (honouring a
short Retry-After); a 4xx other than 429 is the receiver saying no, so it is not retried.
A failed delivery is returned, never raised: a webhook must not stop a deploy.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from unhazzle import __version__

Format = Literal["json", "slack", "datadog"]
FORMATS: tuple[Format, ...] = ("json", "slack", "datadog")
EVENT_TYPES = (
    "deploy.started", "deploy.succeeded", "deploy.failed", "instance.crash_looping", "preview.removed",
)  # fmt: skip
PAYLOAD_FORMAT = 1
SIGNATURE_HEADER = "X-Unhazzle-Signature"
TIMESTAMP_HEADER = "X-Unhazzle-Timestamp"
MAX_BACKOFF_S = 30.0
_ALERT = {"deploy.failed": "error", "instance.crash_looping": "error", "deploy.succeeded": "success"}
_ICON = {
    "deploy.failed": ":x:",
    "instance.crash_looping": ":warning:",
    "deploy.succeeded": ":white_check_mark:",
    "preview.removed": ":wastebasket:",
}


@dataclass(frozen=True)
class Delivery:
    ok: bool
    status: int  # the last HTTP status; 0 when the receiver never answered
    attempts: int
    error: str = ""


def event(
    kind: str, *, project: str, environment: str, message: str, app: str | None = None, **extra: Any
) -> dict[str, Any]:
    """A well-formed event; extra fields (revision, source, hint, ...) ride along."""
    if kind not in EVENT_TYPES:
        raise ValueError(f"'{kind}' is not an event type; known: {', '.join(EVENT_TYPES)}")
    return {
        "format": PAYLOAD_FORMAT,
        "id": uuid.uuid4().hex,
        "type": kind,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "project": project,
        "environment": environment,
        "app": app,
        "message": message,
        **extra,
    }


def summary(ev: dict[str, Any]) -> str:
    """One line a person reads: 'shop/production: deploy failed: web: ran out of memory'."""
    where = f"{ev.get('project')}/{ev.get('environment')}"
    what = str(ev.get("type", "event")).replace(".", " ").replace("_", "-")
    app = f" {ev['app']}" if ev.get("app") else ""
    return f"{where}{app}: {what}: {ev.get('message', '')}".rstrip(": ")


def body(ev: dict[str, Any], fmt: Format) -> bytes:
    """The request body for *fmt*. Pure."""
    if fmt == "json":
        payload: dict[str, Any] = ev
    elif fmt == "slack":
        payload = {"text": f"{_ICON.get(str(ev.get('type')), ':information_source:')} {summary(ev)}"}
    elif fmt == "datadog":
        payload = _datadog(ev)
    else:
        raise ValueError(f"'{fmt}' is not a webhook format; known: {', '.join(FORMATS)}")
    return json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()


def _datadog(ev: dict[str, Any]) -> dict[str, Any]:
    tags = [
        f"env:{ev.get('environment')}",
        f"project:{ev.get('project')}",
        f"unhazzle_event:{ev.get('type')}",
    ]
    if ev.get("app"):
        tags.append(f"service:{ev['app']}")
    if ev.get("revision"):
        tags.append(f"version:{ev['revision']}")
    return {
        "title": summary(ev)[:100],
        "text": str(ev.get("message", "")) + (f"\n{ev['hint']}" if ev.get("hint") else ""),
        "alert_type": _ALERT.get(str(ev.get("type")), "info"),
        "source_type_name": "unhazzle",
        "aggregation_key": f"{ev.get('project')}-{ev.get('environment')}",
        "tags": sorted(tags),
    }


def signature(secret: str, timestamp: str, payload: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + payload, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def headers(secret: str, ev: dict[str, Any], payload: bytes, *, fmt: Format, now: float) -> dict[str, str]:
    out = {"Content-Type": "application/json", "User-Agent": f"unhazzle/{__version__}"}
    if fmt == "datadog":
        return out | ({"DD-API-KEY": secret} if secret else {})
    stamp = str(int(now))
    out |= {
        "X-Unhazzle-Event": str(ev.get("type", "")),
        "X-Unhazzle-Delivery": str(ev.get("id", "")),
        TIMESTAMP_HEADER: stamp,
    }
    if secret:
        out[SIGNATURE_HEADER] = signature(secret, stamp, payload)
    return out


def send_event(
    url: str,
    secret: str,
    event: dict[str, Any],
    *,
    attempts: int = 5,
    backoff: float = 0.5,
    format: Format = "json",
    timeout: float = 5.0,
    sleep: Callable[[float], None] = time.sleep,
) -> Delivery:
    """POST *event* to *url*, retrying after 5xx/429/no answer; the same delivery id each time,
    so a receiver can drop a duplicate."""
    if not url.startswith(("http://", "https://")):
        return Delivery(False, 0, 0, f"{url}: not an http(s) URL")
    payload = body(event, format)
    status, error = 0, ""
    for attempt in range(1, max(1, attempts) + 1):
        status, error, retry_after = _post(
            url, payload, headers(secret, event, payload, fmt=format, now=time.time()), timeout
        )
        if 200 <= status < 300:
            return Delivery(True, status, attempt)
        if status and status < 500 and status != 429:
            return Delivery(False, status, attempt, error)
        if attempt < attempts:
            sleep(
                min(MAX_BACKOFF_S, retry_after if retry_after is not None else backoff * 2 ** (attempt - 1))
            )
    return Delivery(False, status, max(1, attempts), error)


def _post(url: str, payload: bytes, hdrs: dict[str, str], timeout: float) -> tuple[int, str, float | None]:
    """(status, error, Retry-After seconds); status 0 when there was no answer."""
    request = urllib.request.Request(url, data=payload, headers=hdrs, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status), "", None
    except urllib.error.HTTPError as exc:
        return (
            exc.code,
            f"{url}: answered {exc.code} {exc.reason}",
            _retry_after(exc.headers.get("Retry-After")),
        )
    except (urllib.error.URLError, OSError) as exc:
        return 0, f"{url}: no answer ({getattr(exc, 'reason', exc)})", None


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None  # an HTTP date: fall back to our own backoff


def crash_looping_events(report: dict[str, Any]) -> list[dict[str, Any]]:
    """instance.crash_looping events from a `status` report (overview.report): one per app whose
    instances keep crashing, with the plain-words reason and hint."""
    found = []
    for env in report.get("environments", []):
        for app in env.get("apps", []):
            for finding in app.get("findings", []):
                if finding["severity"] == "failing" and (
                    "crashing" in finding["message"] or "out of memory" in finding["message"]
                ):
                    found.append(event(
                        "instance.crash_looping", project=report.get("project", ""), environment=env["name"],
                        app=app["name"], message=finding["message"], hint=finding["hint"],
                        restarts_last_hour=app.get("restarts_last_hour", 0),
                    ))  # fmt: skip
                    break
    return found


class Webhook:
    """Deliveries in the background, so a slow or dead receiver never delays a reconcile."""

    def __init__(self, url: str, secret: str, fmt: Format = "json", *, backoff: float = 0.5) -> None:
        self.url, self.format = url, fmt
        self._secret, self._backoff = secret, backoff
        self._threads: list[threading.Thread] = []
        self.deliveries: list[Delivery] = []  # what came of each, for the log and the tests

    def send(self, ev: dict[str, Any]) -> None:
        thread = threading.Thread(target=self._deliver, args=(ev,), daemon=True)
        thread.start()
        self._threads.append(thread)

    def drain(self, timeout: float = 10.0) -> None:
        """Wait for deliveries in flight (before exit, with --once)."""
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _deliver(self, ev: dict[str, Any]) -> None:
        self.deliveries.append(
            send_event(self.url, self._secret, ev, backoff=self._backoff, format=self.format)
        )
