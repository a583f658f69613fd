"""Real OCI registries on loopback for the tests: Debian's `docker-registry` (the reference
registry), once on plain HTTP and once with basic auth and TLS from a test CA, plus a small
token server of our own that fronts the plain one with the `WWW-Authenticate: Bearer` flow Docker
Hub and GHCR use. Test images are built as OCI layouts (unhazzle.devcluster.images) and pushed with skopeo.
Everything is started once per session and stopped at the end; no process outlives the tests.
"""

from __future__ import annotations

import base64
import json
import secrets
import shutil
import socket
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from unhazzle.devcluster.images import Image, Layout, text_file

USER, PASSWORD = "ada", "s3cret-pass"
PASSTHROUGH_HEADERS = ("content-type", "docker-content-digest", "content-length")

WEB = Image(
    ports=["8080/tcp"],
    user="1000:1000",
    env={"PATH": "/usr/local/bin:/usr/bin:/bin", "LOG_LEVEL": "info"},
    entrypoint=["/app/server"],
    cmd=["--listen", ":8080"],
    labels={"org.opencontainers.image.source": "https://example.com/acme/web"},
    healthcheck={
        "Test": ["CMD-SHELL", "wget -qO- http://localhost:8080/healthz"],
        "Interval": 30 * 10**9,
        "Retries": 3,
    },
    files=text_file(b"web\n"),
)
TWO_PORTS = Image(ports=["9090/tcp", "8080/tcp"], user="app", files=text_file(b"two ports\n"))
ROOT = Image(ports=["8000/tcp"], user="", cmd=["python", "-m", "http.server"], files=text_file(b"root\n"))
WRITES = Image(  # an image that writes to disk, as nginx's unprivileged one does
    ports=["8080/tcp"],
    user="101",
    volumes=["/var/cache/nginx", "/tmp", "/var/lib/app/"],
    workdir="/app",
    files=text_file(b"writes\n"),
)
AMD64 = Image(ports=["8080/tcp"], user="1000", env={"ARCH": "amd64"}, files=text_file(b"amd64\n"))
ARM64 = Image(
    ports=["8080/tcp"], user="1000", env={"ARCH": "arm64"}, architecture="arm64", files=text_file(b"arm64\n")
)

# name:tag in the registry -> (images, skopeo format); several images make a multi-platform index.
IMAGES: dict[str, tuple[tuple[Image, ...], str | None]] = {
    "acme/web:1.0": ((WEB,), "v2s2"),  # Docker v2 schema 2 media types
    "acme/ports:1.0": ((TWO_PORTS,), None),  # OCI media types
    "acme/root:1.0": ((ROOT,), None),
    "acme/writes:1.0": ((WRITES,), None),
    "acme/multi:1.0": ((AMD64, ARM64), None),
    "private/web:1.0": ((WEB,), None),
}


@dataclass
class Registry:
    host: str  # 127.0.0.1:PORT
    ca_file: Path | None = None
    digests: dict[str, str] = field(default_factory=dict)  # name:tag -> digest skopeo pushed

    def ref(self, name: str) -> str:
        return f"{self.host}/{name}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.fail(f"{tool} is not installed (scripts/system-packages.txt lists it; run scripts/test.sh)")
    return path


def _config(root: Path, port: int, *, tls: tuple[Path, Path] | None, htpasswd: Path | None) -> Path:
    http: dict[str, object] = {"addr": f"127.0.0.1:{port}", "secret": "test-only"}
    if tls:
        http["tls"] = {"certificate": str(tls[0]), "key": str(tls[1])}
    config: dict[str, object] = {
        "version": 0.1,
        "log": {"level": "error", "accesslog": {"disabled": True}},
        "storage": {"filesystem": {"rootdirectory": str(root / "data")}},
        "http": http,
    }
    if htpasswd:
        config["auth"] = {"htpasswd": {"realm": "test", "path": str(htpasswd)}}
    path = root / "config.yml"
    path.write_text(json.dumps(config))  # JSON is YAML
    return path


def _wait_ready(url: str, context: ssl.SSLContext | None, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"docker-registry exited: {proc.stderr.read().decode() if proc.stderr else ''}"
            )
        try:
            urllib.request.urlopen(url, timeout=2, context=context)
            return
        except urllib.error.HTTPError:
            return  # 401: up and asking for a login
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"docker-registry did not start at {url}")


@contextmanager
def running_registry(
    root: Path, *, tls: tuple[Path, Path] | None = None, htpasswd: Path | None = None
) -> Iterator[str]:
    """Start docker-registry on a free loopback port; yields HOST:PORT; always stops it."""
    port = free_port()
    config = _config(root, port, tls=tls, htpasswd=htpasswd)
    proc = subprocess.Popen(
        [_need("docker-registry"), "serve", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        context = ssl.create_default_context(cafile=str(root / "ca.crt")) if tls else None
        _wait_ready(f"{'https' if tls else 'http'}://127.0.0.1:{port}/v2/", context, proc)
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stderr:
            proc.stderr.close()


def make_certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A test CA and a server certificate for 127.0.0.1 signed by it: (ca.crt, server.crt, server.key)."""
    ca_key, ca_crt = folder / "ca.key", folder / "ca.crt"
    key, csr, crt = folder / "server.key", folder / "server.csr", folder / "server.crt"
    ext = folder / "san.ext"
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n")
    run = [
        [
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            ca_key,
            "-out",
            ca_crt,
            "-days",
            "2",
            "-subj",
            "/CN=Unhazzle test CA",
        ],
        ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1"],
        [
            "x509",
            "-req",
            "-in",
            csr,
            "-CA",
            ca_crt,
            "-CAkey",
            ca_key,
            "-CAcreateserial",
            "-out",
            crt,
            "-days",
            "2",
            "-extfile",
            ext,
        ],
    ]
    for args in run:
        subprocess.run([_need("openssl"), *map(str, args)], check=True, capture_output=True)
    return ca_crt, crt, key


def push(layout: Path, name: str, dest: str, *, fmt: str | None, extra: list[str]) -> str:
    """skopeo copy oci:LAYOUT:NAME docker://DEST; returns the digest the registry stored."""
    digest_file = layout.parent / f"digest-{secrets.token_hex(4)}"
    args = [
        _need("skopeo"),
        "--insecure-policy",
        "copy",
        "--quiet",
        "--all",
        "--digestfile",
        str(digest_file),
    ]
    args += ["--format", fmt] if fmt else []
    subprocess.run(
        [*args, *extra, f"oci:{layout}:{name}", f"docker://{dest}"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return digest_file.read_text().strip()


def build_layout(folder: Path) -> Path:
    layout = Layout(folder / "layout")
    for name, (images, _) in IMAGES.items():
        layout.add(name, *images)
    return layout.root


class TokenServer(ThreadingHTTPServer):
    """Our own Bearer-token registry front: /token issues tokens (asking for a login for
    private/ repositories), /v2/ answers 401 with a Bearer challenge until a token comes, then
    passes the request on to the registry behind it."""

    daemon_threads = True

    def __init__(self, upstream: str, *, tamper: bool = False) -> None:
        super().__init__(("127.0.0.1", 0), _TokenHandler)
        self.upstream = upstream
        self.tamper = tamper  # change every manifest by one byte on the way, as a bad proxy might
        self.tokens: set[str] = set()
        self.scopes: list[str] = []  # every scope a token was asked for, in order

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.server_address[1]}"


class _TokenHandler(BaseHTTPRequestHandler):
    server: TokenServer

    def log_message(self, format: str, *args: object) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/token":
            self._token(urllib.parse.parse_qs(url.query))
        elif url.path.startswith("/v2/"):
            self._registry(url.path)
        else:
            self._send(404, b"{}")

    def _token(self, query: dict[str, list[str]]) -> None:
        scope = query.get("scope", [""])[0]
        self.server.scopes.append(scope)
        wanted = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        if scope.startswith("repository:private/") and self.headers.get("Authorization") != wanted:
            self._send(401, b'{"errors":[{"code":"UNAUTHORIZED","message":"login needed"}]}')
            return
        token = secrets.token_hex(16)
        self.server.tokens.add(token)
        self._send(200, json.dumps({"token": token, "expires_in": 300}).encode())

    def _registry(self, path: str) -> None:
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in self.server.tokens:
            repo = path[4:].split("/manifests/")[0].split("/blobs/")[0].rstrip("/")
            scope = f',scope="repository:{repo}:pull"' if repo else ""
            challenge = f'Bearer realm="http://{self.server.host}/token",service="unhazzle-test"{scope}'
            self._send(401, b'{"errors":[{"code":"UNAUTHORIZED"}]}', {"WWW-Authenticate": challenge})
            return
        request = urllib.request.Request(
            self.server.upstream + self.path, headers={"Accept": self.headers.get("Accept", "*/*")}
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                body = answer.read()
                if self.server.tamper and "/manifests/" in path:
                    body += b"\n"
                self._send(answer.status, body, _passthrough(answer.headers))
        except urllib.error.HTTPError as exc:
            self._send(exc.code, exc.read(), _passthrough(exc.headers))

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        headers = {"Content-Type": "application/json", **(headers or {})}
        for key, value in headers.items():
            if key.lower() != "content-length":
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _passthrough(headers: object) -> dict[str, str]:
    items = headers.items() if hasattr(headers, "items") else []
    return {k: v for k, v in items if k.lower() in PASSTHROUGH_HEADERS}


@pytest.fixture(scope="session")
def oci_layout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_layout(tmp_path_factory.mktemp("oci"))


@pytest.fixture(scope="session")
def plain_registry(tmp_path_factory: pytest.TempPathFactory, oci_layout: Path) -> Iterator[Registry]:
    """The reference registry on plain HTTP, holding every test image."""
    root = tmp_path_factory.mktemp("registry-plain")
    with running_registry(root) as host:
        registry = Registry(host)
        for name, (_, fmt) in IMAGES.items():
            registry.digests[name] = push(
                oci_layout, name, registry.ref(name), fmt=fmt, extra=["--dest-tls-verify=false"]
            )
        yield registry


@pytest.fixture(scope="session")
def secure_registry(tmp_path_factory: pytest.TempPathFactory, oci_layout: Path) -> Iterator[Registry]:
    """The reference registry with basic auth (bcrypt htpasswd) and TLS from a test CA."""
    root = tmp_path_factory.mktemp("registry-secure")
    ca, crt, key = make_certificates(root)
    htpasswd = root / "htpasswd"
    subprocess.run(
        [_need("htpasswd"), "-Bbc", str(htpasswd), USER, PASSWORD], check=True, capture_output=True
    )
    certs = root / "certs.d"
    certs.mkdir()
    shutil.copy(ca, certs / "ca.crt")
    with running_registry(root, tls=(crt, key), htpasswd=htpasswd) as host:
        registry = Registry(host, ca_file=ca)
        extra = [f"--dest-cert-dir={certs}", f"--dest-creds={USER}:{PASSWORD}"]
        for name in ("acme/web:1.0", "acme/multi:1.0"):
            registry.digests[name] = push(
                oci_layout, name, registry.ref(name), fmt=IMAGES[name][1], extra=extra
            )
        yield registry


@contextmanager
def running_token_server(
    upstream: Registry, *, tamper: bool = False
) -> Iterator[tuple[Registry, TokenServer]]:
    server = TokenServer(f"http://{upstream.host}", tamper=tamper)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Registry(server.host, digests=upstream.digests), server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def token_registry(plain_registry: Registry) -> Iterator[tuple[Registry, TokenServer]]:
    """The plain registry behind our Bearer-token front."""
    with running_token_server(plain_registry) as pair:
        yield pair


@pytest.fixture
def tampering_registry(plain_registry: Registry) -> Iterator[Registry]:
    """The plain registry behind a front that changes each manifest by one byte."""
    with running_token_server(plain_registry, tamper=True) as (registry, _):
        yield registry


@pytest.fixture
def docker_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty Docker config folder in DOCKER_CONFIG; tests add logins with `login()`."""
    folder = tmp_path / "docker"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    monkeypatch.setenv("DOCKER_CONFIG", str(folder))
    return folder


def login(folder: Path, host: str, user: str = USER, password: str = PASSWORD) -> None:
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    (folder / "config.json").write_text(json.dumps({"auths": {host: {"auth": auth}}}))
