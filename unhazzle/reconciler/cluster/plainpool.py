"""Requests whose whole answer is read at once, on kept-alive http.client connections.

transport.py sends every such request here when it goes straight to the server (no proxy, no TLS
server name of its own); streams (watches, logs) and the rest go through urllib3. Why: a first
sync is thousands of small requests, and a GET through urllib3 cost 377 us of CPU against 230 us
this way, on the same kept-alive TLS connection (the local plane, one thread): urllib3's response
wrapper, header and timeout objects, and its routing. What is kept of urllib3's ways: at most
`size` idle connections, reused last-in first-out; one the server has closed while it sat idle is
not sent on (the same look before a request urllib3 takes; a close in the very moment after it
is no answer, as there); a connection that failed in any way is closed, never reused; the TLS
context is transport.py's, so certificates, the CA and hostname checks are the same.
"""

from __future__ import annotations

import http.client
import select
import socket
import ssl
import threading
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Answer:
    """A whole answer; shaped like the urllib3 responses transport.py also returns."""

    status: int
    data: bytes

    def drain_conn(self) -> None:
        """Nothing to drain: the body was read whole."""

    def release_conn(self) -> None:
        """Nothing to release: the connection went back to the pool when the body was read."""


class PlainPool:
    """Connections to one server, thread-safe."""

    def __init__(self, host: str, port: int | None, *, context: ssl.SSLContext | None, size: int) -> None:
        self.host, self.port, self.context, self.size = host, port, context, size
        self._idle: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()
        self._closed = False  # replaced (a new client certificate): what comes back is closed

    def request(
        self,
        method: str,
        target: str,
        body: bytes | None,
        headers: Mapping[str, str],
        *,
        connect_s: float,
        read_s: float | None,
    ) -> Answer:
        """Send and read the whole answer. Raises OSError when there is none (a refused or cut
        connection, a timeout, TLS trouble), as the urllib3 path raises its own errors."""
        conn = self._take(connect_s)
        try:
            assert conn.sock is not None
            conn.sock.settimeout(read_s)
            conn.request(method, target, body=body, headers=dict(headers))
            response = conn.getresponse()
            data = response.read()
        except http.client.HTTPException as exc:  # a malformed or cut answer: not an OSError
            conn.close()
            cut = type(exc).__name__
            raise ConnectionError(f"remote end closed the connection mid-answer ({cut})") from None
        except BaseException:
            conn.close()
            raise
        if response.will_close:
            conn.close()
        else:
            self._give(conn)
        return Answer(response.status, data)

    def _take(self, connect_s: float) -> http.client.HTTPConnection:
        while True:
            with self._lock:
                conn = self._idle.pop() if self._idle else None
            if conn is None:
                break
            if conn.sock is not None and not _dropped(conn.sock):
                return conn
            conn.close()
        if self.context is None:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=connect_s)
        else:
            conn = http.client.HTTPSConnection(self.host, self.port, timeout=connect_s, context=self.context)
        try:
            conn.connect()
        except BaseException:
            conn.close()
            raise
        return conn

    def _give(self, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            if len(self._idle) < self.size and not self._closed:
                self._idle.append(conn)
                return
        conn.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle, self._closed = self._idle, [], True
        for conn in idle:
            conn.close()


def _dropped(sock: socket.socket) -> bool:
    """An idle connection with something to read has been closed by the server (or holds
    bytes nobody asked for): either way it is not one to send on."""
    if not hasattr(select, "poll"):  # Windows
        return bool(select.select([sock], [], [], 0)[0])
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))
