"""Real Git servers on loopback for the publish tests: `git daemon` (git://), Git's smart HTTP
(`git http-backend` behind a small http.server, with Basic auth), and a TCP proxy that kills the
daemon the moment a push starts sending its commit (a remote that goes away mid-push)."""

from __future__ import annotations

import base64
import contextlib
import os
import signal
import socket
import socketserver
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((LOOPBACK, port), timeout=0.2):
            return
        time.sleep(0.05)
    raise AssertionError(f"nothing listens on {LOOPBACK}:{port}")


@contextlib.contextmanager
def git_daemon(base: Path) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """`git daemon` serving every repo under *base*, pushes allowed; yields (port, process)."""
    port = free_port()
    proc = subprocess.Popen(
        [
            "git",
            "daemon",
            "--reuseaddr",
            "--export-all",
            "--enable=receive-pack",
            f"--base-path={base}",
            f"--listen={LOOPBACK}",
            f"--port={port}",
            str(base),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        # `git daemon` runs git-daemon as a child of the `git` wrapper: kill the whole group, or
        # the real daemon outlives the test.
        start_new_session=True,
    )
    try:
        wait_for_port(port)
        yield port, proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@contextlib.contextmanager
def dropping_proxy(target_port: int, on_push: Callable[[], None]) -> Iterator[int]:
    """A TCP proxy to *target_port*. Fetches pass; on a push, once the server has advertised its
    refs and the client starts sending its update and pack, *on_push* runs (e.g. kills the
    daemon) and both connections are cut, so the server never receives the commit.

    On exit the accept loop is stopped before its listening socket is closed, and every relay is
    finished: a socket closed while another thread still waits in accept() on it leaves that
    thread behind, and the kernel restarts the wait (after any signal, SIGCHLD from each git
    that exits) on the same descriptor number, by then another test's server socket."""
    proxy = _DroppingProxy(target_port, on_push)
    accepting = threading.Thread(target=proxy.serve_forever, args=(0.05,))
    accepting.start()
    try:
        yield int(proxy.server_address[1])
    finally:
        proxy.shutdown()  # returns once serve_forever has stopped: nothing is in accept() any more
        proxy.cut_all()
        proxy.server_close()  # closes the listening socket, then joins every relay thread
        accepting.join()


class _DroppingProxy(socketserver.ThreadingTCPServer):
    def __init__(self, target_port: int, on_push: Callable[[], None]) -> None:
        super().__init__((LOOPBACK, 0), _Relay)
        self.target_port = target_port
        self.on_push = on_push
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._closing = False

    @contextlib.contextmanager
    def open_sockets(self, *socks: socket.socket) -> Iterator[None]:
        """Track *socks* while a relay uses them, so that `cut_all` can end that relay."""
        with self._lock:
            self._open.update(socks)
            if self._closing:
                _cut(*socks)
        try:
            yield
        finally:
            with self._lock:
                self._open.difference_update(socks)

    def cut_all(self) -> None:
        """Shut down (not close: a relay thread may be reading them) every relayed connection, so
        `server_close` joining the relays cannot wait on a client that stays connected."""
        with self._lock:
            self._closing = True
            _cut(*self._open)


class _Relay(socketserver.BaseRequestHandler):
    server: _DroppingProxy

    def handle(self) -> None:
        client: socket.socket = self.request
        try:
            upstream = socket.create_connection((LOOPBACK, self.server.target_port))
        except OSError:
            return  # target gone: socketserver closes the client now, and git fails at once
        with upstream, self.server.open_sockets(client, upstream):
            downstream = threading.Thread(target=_pipe, args=(upstream, client))
            downstream.start()
            with contextlib.suppress(OSError):
                self._upstream(client, upstream)
            _cut(client, upstream)  # wakes `downstream`; neither socket is closed before it ends
            downstream.join()

    def _upstream(self, client: socket.socket, upstream: socket.socket) -> None:
        request = _first_packet(client)
        upstream.sendall(request)
        pushing = b"git-receive-pack" in request
        while data := client.recv(65536):
            if pushing and data.strip(b"0") != b"":
                self.server.on_push()
                return
            upstream.sendall(data)


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            sink.sendall(data)
    _cut(sink)


def _cut(*socks: socket.socket) -> None:
    for sock in socks:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def _first_packet(client: socket.socket) -> bytes:
    """The client's first pkt-line (4 hex digits of length, then the request), whole: TCP may
    hand it over in pieces, and a request cut after its length would hide a push."""
    data = b""
    while len(data) < 4 or len(data) < int(data[:4], 16):
        chunk = client.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


class _GitHTTP(BaseHTTPRequestHandler):
    """Git's smart HTTP protocol through `git http-backend` (CGI), behind Basic auth."""

    root: Path
    credentials: str

    def do_GET(self) -> None:
        self._backend()

    def do_POST(self) -> None:
        self._backend()

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _backend(self) -> None:
        body = self._body()  # read even when refused: closing on an unread body resets the 401
        expected = "Basic " + base64.b64encode(self.credentials.encode()).decode()
        if self.headers.get("Authorization") != expected:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="env"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        path, _, query = self.path.partition("?")
        env = {
            **os.environ,
            "GIT_PROJECT_ROOT": str(self.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "REMOTE_USER": self.credentials.split(":")[0],
            "REQUEST_METHOD": self.command,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
            "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
        }
        done = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True, check=False)
        head, _, payload = done.stdout.partition(b"\r\n\r\n")
        status = 200
        headers = []
        for line in head.decode("latin-1").split("\r\n"):
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.strip().split()[0])
            elif name:
                headers.append((name, value.strip()))
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while size := int(self.rfile.readline().strip(), 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            self.rfile.readline()
            return b"".join(chunks)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))


@contextlib.contextmanager
def smart_http(root: Path, credentials: str) -> Iterator[int]:
    """Serve the repos under *root* over HTTP on loopback, for user:password *credentials*."""
    handler = type("Handler", (_GitHTTP,), {"root": root, "credentials": credentials})
    server = ThreadingHTTPServer((LOOPBACK, 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
