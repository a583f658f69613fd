"""Structured logs (one JSON object per line on stderr) and Prometheus metrics on loopback."""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any, TextIO

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server


class Log:
    """`log.info("applied", environment=..., objects=3)` -> {"ts":..., "level":"info", "event":...}."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def _write(self, level: str, event: str, fields: dict[str, Any]) -> None:
        record = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "level": level,
            "event": event,
            **fields,
        }
        with self._lock:
            stream = self._stream or sys.stderr
            stream.write(json.dumps(record, sort_keys=False, default=str) + "\n")
            stream.flush()

    def info(self, event: str, **fields: Any) -> None:
        self._write("info", event, fields)

    def error(self, event: str, **fields: Any) -> None:
        self._write("error", event, fields)


class QuietLog(Log):
    """For `--once` at a terminal: the person reads the summary (reporting.summary_lines), and
    every refusal as a plain line; the events stay unwritten."""

    def _write(self, level: str, event: str, fields: dict[str, Any]) -> None:
        return None


class Metrics:
    """The reconciler's Prometheus metrics, in a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.reconciles = Counter("unhazzle_reconcile", "Reconcile passes, by result", ["result"], registry=r)
        self.duration = Histogram(
            "unhazzle_reconcile_duration_seconds", "Duration of one reconcile pass", registry=r
        )
        self.applied = Counter(
            "unhazzle_objects_applied", "Objects created or configured", ["environment"], registry=r
        )
        self.pruned = Counter(
            "unhazzle_objects_pruned", "Objects deleted by pruning", ["environment"], registry=r
        )
        self.drift = Counter(
            "unhazzle_drift_corrections",
            "Objects re-applied after a manual change",
            ["environment"],
            registry=r,
        )
        self.revision = Gauge(
            "unhazzle_last_applied_revision",
            "1 for the commit last applied",
            ["environment", "revision"],
            registry=r,
        )
        self.rollbacks = Counter(
            "unhazzle_automatic_rollbacks",
            "Apps whose new version stalled and went back to the previous one",
            ["environment"],
            registry=r,
        )
        self.healthy = Gauge(
            "unhazzle_environment_healthy", "1 when the environment is healthy", ["environment"], registry=r
        )
        self.leader = Gauge("unhazzle_leader", "1 while this replica holds the lease", registry=r)
        self._revisions: dict[str, str] = {}

    def serve(self, address: str) -> None:
        """Start /metrics on `HOST:PORT` (loopback unless told otherwise)."""
        host, _, port = address.rpartition(":")
        start_http_server(int(port), addr=host or "127.0.0.1", registry=self.registry)

    def set_revision(self, environment: str, revision: str) -> None:
        old = self._revisions.get(environment)
        if old == revision:
            return
        if old is not None:
            self.revision.remove(environment, old)
        self.revision.labels(environment, revision).set(1)
        self._revisions[environment] = revision
