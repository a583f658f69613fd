"""What goes over the wire (cluster/transport.py), seen by a recording HTTP server of our own: the
headers and query the reconciler's client and the read commands send, a 401 answered by running
the credential plugin again (once), and a proxy-url. TLS with client certificates is exercised
against the real control plane (tests/cluster/test_connection_cluster.py)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from tests.support.kubeconfigs import PluginScript, b64, one
from unhazzle import __version__
from unhazzle.observe import reads
from unhazzle.reconciler.cluster import transport
from unhazzle.reconciler.cluster.client import ClusterError, connect, refuses_object
from unhazzle.reconciler.objects import Ref

DISCOVERY = {"resources": [{"name": "configmaps", "kind": "ConfigMap", "namespaced": True}]}


class _IPv6Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6


class Recorder:
    """Answers every request with JSON; records (method, request line target, headers, body).
    `accept` decides which Authorization values get a 200 (else 401)."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.seen: list[tuple[str, str, dict[str, str], bytes]] = []
        self.connections: set[tuple[str, int]] = set()  # the clients' (address, port) seen
        self.closed = 0  # connections the server has finished with
        self.accept = lambda authorization: True
        self.delay_s = 0.0  # before answering
        self.hang_up = False  # close each connection after answering, without a word
        self.short_by = 0  # announce this many bytes more than are sent (and hang up)
        self.refusals: list[tuple[int, str]] = []  # (HTTP status, message) answered to writes, in turn
        self._server = (_IPv6Server if ":" in host else ThreadingHTTPServer)((host, 0), self._handler())
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://[{host}]:{port}" if ":" in str(host) else f"http://{host}:{port}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self) -> None:
                recorder.connections.add(self.client_address)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                recorder.seen.append((self.command, self.path, dict(self.headers), body))
                ok = recorder.accept(self.headers.get("Authorization"))
                time.sleep(recorder.delay_s)
                path = urlsplit(self.path).path
                data = json.dumps(DISCOVERY if path.endswith("/api/v1") else {"items": [], "metadata": {}})
                code = 200 if ok else 401
                if recorder.refusals and self.command != "GET":
                    code, message = recorder.refusals.pop(0)
                    data = json.dumps(
                        {"kind": "Status", "status": "Failure", "message": message, "code": code}
                    )
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data) + recorder.short_by))
                self.end_headers()
                self.wfile.write(data.encode())
                # hang up without saying so ("Connection: close"), as a server's idle timeout does
                self.close_connection = recorder.hang_up

            do_GET = do_PATCH = do_DELETE = _answer

            def finish(self) -> None:
                super().finish()
                recorder.closed += 1

            def log_message(self, *args: Any) -> None:
                pass

        return Handler


@pytest.fixture
def server() -> Iterator[Recorder]:
    recorder = Recorder()
    yield recorder
    recorder.close()


def test_the_client_sends_its_query_headers_and_credentials(tmp_path: Path, server: Recorder) -> None:
    path = one(tmp_path, cluster={"server": server.url}, user={"username": "ops", "password": "s3cret"})
    client = connect(str(path)).impersonating("system:serviceaccount:shop:deployer")
    client.list_kind("v1", "ConfigMap", namespace="shop", selector="app in (a b),tier=web")
    method, target, headers, _ = server.seen[-1]
    assert method == "GET" and urlsplit(target).path == "/api/v1/namespaces/shop/configmaps"
    assert parse_qsl(urlsplit(target).query) == [("labelSelector", "app in (a b),tier=web")]
    assert headers["Authorization"] == "Basic " + b64("ops:s3cret")
    assert headers["Impersonate-User"] == "system:serviceaccount:shop:deployer"
    assert headers["Accept"] == "application/json" and headers["User-Agent"] == f"unhazzle/{__version__}"
    assert client.requests["LIST"] == 1


def test_the_client_sends_apply_as_written_and_delete_as_json(tmp_path: Path, server: Recorder) -> None:
    client = connect(str(one(tmp_path, cluster={"server": server.url}, user={"token": "abc"})))
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "web", "namespace": "shop"}}
    client.apply(obj, dry_run=True)
    client.delete(Ref.of(obj), uid="u-1")
    (_, apply_to, applied, apply_body), (_, delete_to, _, delete_body) = server.seen[-2:]
    assert parse_qsl(urlsplit(apply_to).query) == [
        ("fieldManager", "unhazzle"),
        ("force", "true"),
        ("dryRun", "All"),
    ]
    assert applied["Content-Type"] == "application/apply-patch+yaml" and json.loads(apply_body) == obj
    assert applied["Authorization"] == "Bearer abc"
    assert urlsplit(delete_to).path == "/api/v1/namespaces/shop/configmaps/web"
    assert json.loads(delete_body) == {"propagationPolicy": "Background", "preconditions": {"uid": "u-1"}}


def test_a_server_address_with_a_path_keeps_it_before_every_request(tmp_path: Path, server: Recorder) -> None:
    """As a cluster behind a management proxy is reached (https://host/k8s/clusters/ID)."""
    path = one(tmp_path, cluster={"server": f"{server.url}/k8s/clusters/c-1/"}, user={"token": "abc"})
    client = connect(str(path))
    client.list_kind("v1", "ConfigMap", namespace="shop")
    assert [urlsplit(target).path for _, target, _, _ in server.seen] == [
        "/k8s/clusters/c-1/api/v1",
        "/k8s/clusters/c-1/api/v1/namespaces/shop/configmaps",
    ]


def test_a_server_address_without_a_scheme_is_http_as_kubectl_reads_it(
    tmp_path: Path, server: Recorder
) -> None:
    path = one(tmp_path, cluster={"server": server.url.removeprefix("http://")}, user={"token": "abc"})
    connect(str(path)).list_kind("v1", "ConfigMap", namespace="shop")
    assert [target for _, target, _, _ in server.seen] == ["/api/v1", "/api/v1/namespaces/shop/configmaps"]


def test_a_401_runs_the_plugin_again_and_sends_once_more(tmp_path: Path, server: Recorder) -> None:
    plugin = PluginScript(tmp_path)
    path = one(tmp_path, cluster={"server": server.url}, user={"exec": {
        "apiVersion": "client.authentication.k8s.io/v1", "command": str(plugin.path)}})  # fmt: skip
    server.accept = lambda authorization: authorization == "Bearer token-2"  # token-1 was revoked
    client = connect(str(path))
    assert client.list_kind("v1", "ConfigMap", namespace="shop") == []
    assert len(plugin.runs()) == 2
    assert [h["Authorization"] for _, _, h, _ in server.seen] == [
        "Bearer token-1",
        "Bearer token-2",
        "Bearer token-2",
    ]


def test_a_401_after_the_plugin_ran_again_is_the_answer(tmp_path: Path, server: Recorder) -> None:
    plugin = PluginScript(tmp_path)
    path = one(tmp_path, cluster={"server": server.url}, user={"exec": {
        "apiVersion": "client.authentication.k8s.io/v1", "command": str(plugin.path)}})  # fmt: skip
    server.accept = lambda authorization: False
    client = connect(str(path))
    with pytest.raises(ClusterError) as refused:
        client.list_kind("v1", "ConfigMap", namespace="shop")
    assert refused.value.status == 401
    assert len(server.seen) == 2 and len(plugin.runs()) == 2  # once more, not in a loop


def test_a_token_with_no_plugin_is_not_sent_twice_on_a_401(tmp_path: Path, server: Recorder) -> None:
    server.accept = lambda authorization: False
    reader = reads.connect(str(one(tmp_path, cluster={"server": server.url}, user={"token": "old"})))
    with pytest.raises(reads.ClusterReadError, match="refused these credentials"):
        reader.get("/api/v1/namespaces")
    assert len(server.seen) == 1


def test_the_read_commands_share_the_settings_and_credentials(tmp_path: Path, server: Recorder) -> None:
    token = tmp_path / "token"
    token.write_text("reader-token")
    reader = reads.connect(str(one(tmp_path, cluster={"server": server.url}, user={"tokenFile": "token"})))
    assert reader.server == server.url
    assert reader.items("/api/v1/namespaces/shop/pods", where="shop", selector="app=web") == []
    _, target, headers, _ = server.seen[-1]
    assert target == "/api/v1/namespaces/shop/pods?labelSelector=app%3Dweb"
    assert headers["Authorization"] == "Bearer reader-token"


def test_a_proxy_url_sends_every_request_through_the_proxy(tmp_path: Path, server: Recorder) -> None:
    """The recorder plays the proxy: an http proxy gets the whole URL on the request line."""
    path = one(tmp_path, cluster={"server": "http://cluster.internal:8080", "proxy-url": f"{server.url}"},
               user={"token": "abc"})  # fmt: skip
    reader = reads.connect(str(path))
    assert reader.get("/version", where="version") == {"items": [], "metadata": {}}
    _, target, headers, _ = server.seen[-1]
    assert target == "http://cluster.internal:8080/version"
    assert headers["Authorization"] == "Bearer abc"


def test_a_connect_and_read_timeout_pair_bounds_each_not_the_whole(tmp_path: Path, server: Recorder) -> None:
    """A watch's (connect, read) pair: a short connect bound must not cut a slow answer."""
    api = transport.connect(str(one(tmp_path, cluster={"server": server.url})))
    server.delay_s = 0.6
    assert api.request("GET", "/version", timeout=(0.3, 5.0)).status == 200
    with pytest.raises(TimeoutError):
        api.request("GET", "/version", timeout=0.3)
    server.delay_s = 0.0
    assert api.request("GET", "/version", timeout=5.0).status == 200  # on a new connection


def test_requests_share_kept_alive_connections(tmp_path: Path, server: Recorder) -> None:
    api = transport.connect(str(one(tmp_path, cluster={"server": server.url})))
    for _ in range(5):
        assert api.request("GET", "/version", timeout=5.0).status == 200
    assert len(server.connections) == 1


def test_a_connection_the_server_closed_while_idle_is_not_sent_on(tmp_path: Path, server: Recorder) -> None:
    """An API server (or a load balancer before it) closes idle connections without a word:
    the next request goes on a new connection, not into the closed one."""
    api = transport.connect(str(one(tmp_path, cluster={"server": server.url})))
    server.hang_up = True
    for sent in range(1, 4):
        assert api.request("PATCH", "/api/v1/x", body={"a": 1}, timeout=5.0).status == 200
        deadline = time.monotonic() + 10
        while server.closed < sent and time.monotonic() < deadline:  # the server has hung up
            time.sleep(0.01)
        time.sleep(0.05)  # (and its close has reached us)
    assert len(server.connections) == 3
    assert [seen[3] for seen in server.seen] == [b'{"a": 1}'] * 3  # each sent once, whole


def test_an_answer_cut_short_is_no_answer_and_its_connection_is_not_reused(
    tmp_path: Path, server: Recorder
) -> None:
    client = connect(str(one(tmp_path, cluster={"server": server.url})), timeout=5.0)
    ref = Ref("v1", "ConfigMap", "shop-production", "web")
    assert client.get(ref) is not None
    server.short_by, server.hang_up = 10, True
    with pytest.raises(ClusterError) as cut:
        client.get(ref)
    assert cut.value.status == 0 and "the connection was cut" in str(cut.value)
    server.short_by, server.hang_up = 0, False
    assert client.get(ref) is not None


def test_a_server_at_an_ipv6_address_is_reached(tmp_path: Path) -> None:
    """In a cluster whose services are IPv6, the API server is https://[fd00:10:96::1]:443."""
    try:
        server = Recorder("::1")
    except OSError:
        pytest.skip("no IPv6 loopback here")
    try:
        api = transport.connect(str(one(tmp_path, cluster={"server": server.url})))
        assert api.request("GET", "/version", timeout=5.0).status == 200
        assert server.seen[-1][2]["Host"] == server.url.removeprefix("http://")
    finally:
        server.close()


def test_a_quota_made_a_moment_ago_is_asked_again_and_a_quota_that_is_full_is_not(
    tmp_path: Path, server: Recorder
) -> None:
    """A new environment's volume is made with its quota: until the cluster has counted the
    quota's usage it refuses what the quota limits, for a second. That is asked again, not taken
    as the revision refused; a quota that is full is the answer."""
    client = connect(str(one(tmp_path, cluster={"server": server.url}, user={"token": "abc"})))
    claim = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "data", "namespace": "shop"}}
    forbidden = 'configmaps "data" is forbidden: '
    server.refusals = [(403, forbidden + "status unknown for quota: unhazzle-quota, resources: configmaps")]
    client.apply(claim)
    assert [method for method, *_ in server.seen] == ["GET", "PATCH", "PATCH"]  # (discovery first)
    server.refusals = [(403, forbidden + "exceeded quota: unhazzle-quota, requested: configmaps=1")]
    with pytest.raises(ClusterError) as refused:
        client.apply(claim)
    assert refuses_object(refused.value) and [m for m, *_ in server.seen].count("PATCH") == 3
