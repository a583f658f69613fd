"""A fault-injecting proxy of ours in front of the real API server, on 127.0.0.1 only.

It speaks plain HTTP to the client and forwards over TLS with the cluster's admin credentials,
so it can answer 500 for chosen requests or drop the connection without any answer. Faults are
a predicate over (method, path, request number) set by the test while the proxy runs."""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Callable
from http.client import HTTPSConnection
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import yaml

# (method, path, n) -> None (forward), "500" (answer 500) or "drop" (close without an answer)
Fault = Callable[[str, str, int], str | None]


class FaultProxy:
    def __init__(self, kubeconfig: Path) -> None:
        config = yaml.safe_load(kubeconfig.read_text())
        cluster, user = config["clusters"][0]["cluster"], config["users"][0]["user"]
        target = urlparse(cluster["server"])
        self.host, self.port = target.hostname or "127.0.0.1", target.port or 443
        self.context = ssl.create_default_context(cafile=cluster["certificate-authority"])
        self.context.load_cert_chain(user["client-certificate"], user["client-key"])
        self.fault: Fault = lambda method, path, n: None
        self.count = 0
        self.injected: list[tuple[str, str, str]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def kubeconfig(self, path: Path) -> Path:
        """A kubeconfig that points at the proxy (no credentials: the proxy adds them)."""
        config = {
            "apiVersion": "v1", "kind": "Config", "current-context": "proxy",
            "clusters": [{"name": "proxy", "cluster": {"server": self.url}}],
            "users": [{"name": "proxy", "user": {}}],
            "contexts": [{"name": "proxy", "context": {"cluster": "proxy", "user": "proxy"}}],
        }  # fmt: skip
        path.write_text(json.dumps(config))
        return path

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                with proxy._lock:
                    proxy.count += 1
                    n = proxy.count
                action = proxy.fault(self.command, self.path, n)
                if action:
                    proxy.injected.append((action, self.command, self.path))
                if action == "drop":
                    self.close_connection = True
                    self.connection.close()
                    return
                if action == "500":
                    self._answer(500, b'{"kind":"Status","message":"injected fault","code":500}', {})
                    return
                self._forward(body)

            def _forward(self, body: bytes | None) -> None:
                conn = HTTPSConnection(proxy.host, proxy.port, context=proxy.context, timeout=60)
                headers = {
                    k: v for k, v in self.headers.items() if k.lower() not in ("host", "authorization")
                }
                conn.request(self.command, self.path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
                conn.close()
                self._answer(response.status, data, dict(response.getheaders()))

            def _answer(self, status: int, data: bytes, headers: dict[str, Any]) -> None:
                self.send_response(status)
                for key, value in headers.items():
                    if key.lower() not in ("content-length", "transfer-encoding", "connection"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

            def log_message(self, *args: Any) -> None:
                pass

        return Handler
