"""Requests and error rates from Prometheus. Prometheus itself cannot run here, so a stand-in on
127.0.0.1 (named as such: FakePrometheus) answers the HTTP query API with the documented response
shape and records the PromQL we send; the series and labels are ingress-nginx's."""

from __future__ import annotations

import contextlib
import json
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from unhazzle.errors import OperationError
from unhazzle.observe import prometheus


class FakePrometheus:
    """GET /api/v1/query -> {"status": "success", "data": {"resultType": "vector", "result": [...]}}."""

    def __init__(self) -> None:
        self.queries: list[str] = []
        self.status = 200
        self.url = ""

    def answer(self, promql: str) -> dict[str, Any]:
        errors = 'status=~"5.."' in promql
        values = {"web": "0.5" if errors else "12.25", "api": "0" if errors else "3"}
        result = [
            {"metric": {"ingress": name}, "value": [1767268800.0, value]} for name, value in values.items()
        ]
        return {"status": "success", "data": {"resultType": "vector", "result": result}}


@pytest.fixture
def prom() -> Iterator[FakePrometheus]:
    with serve_fake_prometheus() as fake:
        yield fake


@contextlib.contextmanager
def serve_fake_prometheus() -> Iterator[FakePrometheus]:
    fake = FakePrometheus()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            query = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query).get("query", [""])[0]
            fake.queries.append(query)
            body = json.dumps(fake.answer(query)).encode() if fake.status == 200 else b"oops"
            self.send_response(fake.status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=lambda: server.serve_forever(poll_interval=0.05), daemon=True).start()
    yield fake
    server.shutdown()
    server.server_close()


def test_prometheus_rates_per_app_from_ingress_series(prom: FakePrometheus) -> None:
    rates = prometheus.rates(prom.url, "shop-production")
    assert rates == {
        "api": {"requests_per_s": 3.0, "errors_per_s": 0.0},
        "web": {"requests_per_s": 12.25, "errors_per_s": 0.5},
    }
    assert prom.queries == [
        'sum by (ingress) (rate(nginx_ingress_controller_requests{namespace="shop-production"}[5m]))',
        'sum by (ingress) (rate(nginx_ingress_controller_requests{namespace="shop-production",status=~"5.."}[5m]))',
    ]


def test_prometheus_failure_is_one_operation_error(prom: FakePrometheus) -> None:
    prom.status = 500
    with pytest.raises(OperationError, match=r"^http://127\.0\.0\.1:\d+: Prometheus does not answer"):
        prometheus.rates(prom.url, "shop-production")


@pytest.mark.parametrize("url", ["file:///etc/passwd", "127.0.0.1:9090", "http://127.0.0.1:9"])
def test_prometheus_bad_or_dead_url(url: str) -> None:
    with pytest.raises(OperationError):
        prometheus.rates(url, "shop-production")
