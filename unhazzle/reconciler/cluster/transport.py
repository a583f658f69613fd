"""Requests to one API server, each carrying the credentials: whole answers on plain
http.client connections when they go straight to the server (plainpool.py says why), streams
and anything through a proxy or to a TLS server name of its own on one urllib3 pool.

The reconciler's client (client.py) and the read-only commands (observe/reads.py) both send through
this, and neither sees the TLS, proxy or credential details. No retry here (`retries=False`): the
client retries itself, only what is safe to retry. One exception, as in client-go: a 401 when an
exec plugin gives the credentials runs the plugin again and sends the request once more.
"""

from __future__ import annotations

import json
import os
import ssl
import tempfile
import threading
import warnings
from typing import Any, Protocol
from urllib.parse import urlencode, urlsplit

import urllib3

from unhazzle import __version__
from unhazzle.reconciler.cluster import kubeconfig
from unhazzle.reconciler.cluster.credentials import Unusable
from unhazzle.reconciler.cluster.plainpool import PlainPool

POOL_SIZE = 16  # connections kept per server: the reconciler's threads, and status's parallel GETs
USER_AGENT = f"unhazzle/{__version__}"

# Seconds to connect and for each read (not for the whole answer), or (connect, read); None: read for ever
Timeout = float | tuple[float, float | None]


class Response(Protocol):
    """An answer, its body read (plainpool.Answer, or urllib3's when it streams)."""

    @property
    def status(self) -> int: ...

    @property
    def data(self) -> bytes: ...

    def drain_conn(self) -> None: ...

    def release_conn(self) -> None: ...


def connect(
    kubeconfig_path: str | None, context: str | None = None, *, in_cluster_first: bool = False
) -> Transport:
    """A transport for the settings kubeconfig.find chooses, its first credentials already in hand
    (so a failing credential plugin is reported here, not at the first request); Unusable if not."""
    settings = kubeconfig.find(kubeconfig_path, context, in_cluster_first=in_cluster_first)
    settings.credentials.prepare()
    transport = Transport(settings)
    transport._pool(settings.credentials.client_cert())  # a CA or key that will not load: now
    return transport


class Transport:
    """Thread-safe: urllib3's pool is, and the credentials are."""

    def __init__(self, settings: kubeconfig.Settings) -> None:
        self.settings = settings
        self.server = settings.server
        self._lock = threading.Lock()
        self._pools: dict[tuple[bytes, bytes] | None, urllib3.PoolManager] = {}
        # Without a proxy, streams go to the server's own connection pool: the manager's
        # routing (parse the URL, find the pool again) was a sixth of a request's CPU.
        self._direct: dict[tuple[bytes, bytes] | None, urllib3.HTTPConnectionPool] = {}
        # ... and whole answers to plain connections (None: not straight to the server)
        self._plain: dict[tuple[bytes, bytes] | None, PlainPool] = {}
        # a server at https://host/k8s/... (and kubectl's host:port without a scheme, which is http)
        self._prefix = (urllib3.util.parse_url(settings.server).path or "").rstrip("/")
        # each Timeout as (connect, read) for the plain path and as urllib3's, made once
        self._limits: dict[Timeout, tuple[tuple[float, float | None], urllib3.Timeout]] = {}

    def request(
        self,
        method: str,
        path: str,
        *,
        query: list[tuple[str, str]] | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
        timeout: Timeout,
        stream: bool = False,
    ) -> Response:
        """The answer, its body read, unless *stream*: then urllib3's, which the caller reads
        and releases. Raises urllib3's errors or OSError when there is no answer,
        Unusable when there are no credentials to send."""
        url = path + (f"?{urlencode(query)}" if query else "")
        data = body if body is None or isinstance(body, str | bytes) else json.dumps(body)
        pair, limits = self._limits.get(timeout) or self._limit(timeout)
        if not stream and self._plain:  # (straight to the server: see _pool)
            return self._plain_request(method, url, data, headers or {}, pair)
        response = self._send(method, url, data, headers or {}, limits, stream)
        if response.status == 401 and self.settings.credentials.refresh():
            response.drain_conn()
            response.release_conn()
            response = self._send(method, url, data, headers or {}, limits, stream)
        return response

    def _limit(self, timeout: Timeout) -> tuple[tuple[float, float | None], urllib3.Timeout]:
        pair = timeout if isinstance(timeout, tuple) else (timeout, timeout)
        self._limits[timeout] = (pair, urllib3.Timeout(connect=pair[0], read=pair[1]))
        return self._limits[timeout]

    def _plain_request(
        self,
        method: str,
        url: str,
        data: str | bytes | None,
        headers: dict[str, str],
        limits: tuple[float, float | None],
    ) -> Response:
        body = data.encode() if isinstance(data, str) else data

        def send() -> Response:
            sent, cert = self._credentials(headers)
            pool = self._plain.get(cert) or self._plain_pool(cert)
            return pool.request(method, self._prefix + url, body, sent, connect_s=limits[0], read_s=limits[1])

        response = send()
        if response.status == 401 and self.settings.credentials.refresh():
            response = send()
        return response

    def _plain_pool(self, cert: tuple[bytes, bytes] | None) -> PlainPool:
        """A new client certificate (a plugin's): new connections, as for urllib3's pools."""
        plain = self._pool(cert)[1]
        assert plain is not None  # (the settings that allow it do for every certificate)
        return plain

    def _credentials(self, headers: dict[str, str]) -> tuple[dict[str, str], tuple[bytes, bytes] | None]:
        """The headers to send, with the credentials' Authorization, and their client certificate."""
        credentials = self.settings.credentials
        sent = {"User-Agent": USER_AGENT, **headers}
        authorization = credentials.authorization()
        if authorization:
            sent["Authorization"] = authorization
        return sent, credentials.client_cert()

    def _send(
        self, method: str, url: str, data: Any, headers: dict[str, str], limits: urllib3.Timeout, stream: bool
    ) -> urllib3.BaseHTTPResponse:
        sent, cert = self._credentials(headers)
        direct = self._direct.get(cert)
        if direct is None:
            return self._pool(cert)[0].request(
                method, self.server + url, body=data, headers=sent, timeout=limits, retries=False,
                redirect=False, preload_content=not stream,
            )  # fmt: skip
        return direct.urlopen(
            method, self._prefix + url, body=data, headers=sent, timeout=limits, retries=False,
            redirect=False, preload_content=not stream,
        )  # fmt: skip

    def _pool(self, cert: tuple[bytes, bytes] | None) -> tuple[urllib3.PoolManager, PlainPool | None]:
        """The pools for this client certificate: a plugin may hand out a new one, which needs new
        connections; the old pools' are left to finish what they carry."""
        with self._lock:
            if cert not in self._pools:
                s = self.settings
                where = urllib3.util.parse_url(s.server)
                context = tls_context(s, cert) if where.scheme == "https" else None  # HTTPS:// too
                old = self._plain
                self._pools = {cert: self._new_pool(context)}
                self._direct, self._plain = {}, {}
                if not s.proxy_url:
                    self._direct[cert] = self._pools[cert].connection_from_url(self.server)
                if not s.proxy_url and not s.tls_server_name and where.host:
                    # [fd00::1] -> fd00::1: http.client keeps the brackets when given a port
                    host = where.host.removeprefix("[").removesuffix("]")
                    self._plain[cert] = PlainPool(host, where.port, context=context, size=POOL_SIZE)
                for pool in old.values():  # (a request under way still gets its whole answer)
                    pool.close()
            return self._pools[cert], self._plain.get(cert)

    def _new_pool(self, context: ssl.SSLContext | None) -> urllib3.PoolManager:
        s = self.settings
        options: dict[str, Any] = {"num_pools": 4, "maxsize": POOL_SIZE, "retries": False}
        if context is not None:
            options["ssl_context"] = context
            if s.tls_server_name:
                options["server_hostname"] = s.tls_server_name
            if not s.verify:  # asked for in the kubeconfig: no warning on every request
                options["assert_hostname"] = False
                warnings.filterwarnings("ignore", category=urllib3.exceptions.InsecureRequestWarning)
        if not s.proxy_url:
            return urllib3.PoolManager(**options)
        auth = urlsplit(s.proxy_url)
        if auth.username:
            basic = f"{auth.username}:{auth.password or ''}"
            options["proxy_headers"] = urllib3.make_headers(proxy_basic_auth=basic)
        return urllib3.ProxyManager(s.proxy_url, **options)


def tls_context(settings: kubeconfig.Settings, cert: tuple[bytes, bytes] | None) -> ssl.SSLContext:
    context = urllib3.util.create_urllib3_context()
    if not settings.verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif settings.ca_pem:
        try:
            context.load_verify_locations(cadata=settings.ca_pem)
        except ssl.SSLError:
            raise Unusable("the cluster's CA is not a PEM certificate") from None
    else:
        context.load_default_certs()
    if cert:
        load_client_cert(context, *cert)
    return context


def load_client_cert(context: ssl.SSLContext, cert: bytes, key: bytes) -> None:
    """ssl only loads a certificate and key from files: write them to private files (0600 in a
    0700 folder) that live only while loading."""
    with tempfile.TemporaryDirectory(prefix="unhazzle-tls-") as folder:
        paths = [os.path.join(folder, name) for name in ("client.crt", "client.key")]
        for path, pem in zip(paths, (cert, key), strict=True):
            with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
                out.write(pem)
        try:
            context.load_cert_chain(*paths)
        except ssl.SSLError:
            raise Unusable("the client certificate and key are not a PEM pair that belong together") from None
