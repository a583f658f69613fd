"""A fault-injecting proxy of ours in front of the real API server, on 127.0.0.1 only.

It speaks plain HTTP to the client and forwards over TLS with the cluster's admin credentials,
so it can answer 500 for chosen requests or drop the connection without any answer. Faults are
a predicate over (method, path, request number) set by the test while the proxy runs. A WATCH is
relayed as it streams, event by event, and `cut_watches()` cuts every one open, as a proxy or a
load balancer between the reconciler and the API server may."""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import threading
from collections.abc import Callable
from http.client import HTTPException, HTTPResponse, HTTPSConnection
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
        self._watches: set[HTTPSConnection] = set()  # upstream connections of the WATCHes relayed now
        self._cut: set[HTTPSConnection] = set()  # ... and those cut_watches() cut
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
        self.cut_watches()

    def cut_watches(self) -> int:
        """Cut every WATCH open through the proxy (both ways); how many were cut."""
        with self._lock:
            open_now, self._watches = list(self._watches), set()
            self._cut.update(open_now)
        for upstream in open_now:
            if upstream.sock is not None:
                upstream.sock.shutdown(socket.SHUT_RDWR)
        return len(open_now)

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
                watch = "watch=true" in self.path
                conn = HTTPSConnection(
                    proxy.host, proxy.port, context=proxy.context, timeout=None if watch else 60
                )
                headers = {
                    k: v for k, v in self.headers.items() if k.lower() not in ("host", "authorization")
                }
                conn.request(self.command, self.path, body=body, headers=headers)
                response = conn.getresponse()
                if watch and response.status == 200:
                    self._relay(conn, response)
                    return
                data = response.read()
                conn.close()
                self._answer(response.status, data, dict(response.getheaders()))

            def _relay(self, conn: HTTPSConnection, response: HTTPResponse) -> None:
                """A WATCH's events as they come, until either side ends or cut_watches()."""
                with proxy._lock:
                    proxy._watches.add(conn)
                self.send_response(200)
                self.send_header("Content-Type", response.getheader("Content-Type") or "application/json")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                try:
                    while data := response.read1(65536):
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                        self.wfile.flush()
                    if conn not in proxy._cut:  # ended by the server: end it as the server did
                        self.wfile.write(b"0\r\n\r\n")
                except (OSError, HTTPException):  # HTTPException: a chunked stream cut mid-chunk
                    self.close_connection = True  # the client went away, or the upstream was cut
                finally:
                    with proxy._lock:
                        proxy._watches.discard(conn)
                        cut = conn in proxy._cut
                        proxy._cut.discard(conn)
                    if cut:  # the client sees its stream end mid-way, with no end marker
                        self.close_connection = True
                        with contextlib.suppress(OSError):
                            self.connection.shutdown(socket.SHUT_RDWR)
                    conn.close()

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
