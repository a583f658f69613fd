"""The OCI Distribution API client: the only module that talks to image registries (over httpx).

It reads manifests and configs, never layers. Authentication follows the registry's challenge: a
401 with `WWW-Authenticate: Bearer realm=...,service=...,scope=...` is answered with a token from the
realm (Docker Hub, GHCR), `Basic` with the login; logins come from Docker's config file. Every byte
read is checked against its sha256 digest. httpx's exceptions never leave this module: every
failure is one RegistryError line that starts with the image reference.
"""

from __future__ import annotations

import base64
import hashlib
import re
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from unhazzle.compiler.images.credentials import Credentials, credentials_for
from unhazzle.compiler.images.inspection import (
    ACCEPT,
    DEFAULT_PLATFORM,
    INDEX_TYPES,
    ImageInfo,
    ManifestProblem,
    choose_platform,
    descriptor,
    image_info,
    index_platforms,
    layer_sizes,
    media_type,
    parse_json,
)
from unhazzle.compiler.images.reference import ImageRef
from unhazzle.errors import OperationError

MAX_MANIFEST_BYTES = 4 * 1024 * 1024  # the limit the reference registry itself enforces
MAX_CONFIG_BYTES = 16 * 1024 * 1024
MAX_ERROR_BYTES = 64 * 1024
_CHALLENGE_PARAM = re.compile(r'(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')


class RegistryError(OperationError):
    """A registry failure: unknown image, no such tag, unauthorised, unreachable, bad content."""


@dataclass(frozen=True)
class RegistryOptions:
    """How to reach registries.

    insecure: allow plain HTTP when a registry does not speak TLS (always allowed on loopback).
    ca_certs: extra CA certificates (PEM text) to trust, for registries with their own CA.
    docker_config: Docker's config.json with logins (default: $DOCKER_CONFIG or ~/.docker).
    timeout_s: how long to wait for each answer.
    """

    insecure: bool = False
    ca_certs: str | None = None
    docker_config: Path | None = None
    timeout_s: float = 20.0


class Registry:
    """A session with any number of registries; tokens and HTTP/HTTPS choices are remembered."""

    def __init__(self, options: RegistryOptions | None = None) -> None:
        self.options = options or RegistryOptions()
        context = ssl.create_default_context(cadata=self.options.ca_certs)
        self._http = httpx.Client(verify=context, timeout=self.options.timeout_s, follow_redirects=True)
        self._bases: dict[str, str] = {}
        self._auth: dict[tuple[str, str], str] = {}

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.close()

    def digest(self, ref: ImageRef) -> str:
        """The digest a tag points at now (an index's digest for a multi-platform image)."""
        _, digest, _ = self._manifest(ref, ref.reference)
        return digest

    def inspect(self, ref: ImageRef, platform: str = DEFAULT_PLATFORM) -> ImageInfo:
        """The image's config for *platform*, with its digests and compressed size."""
        top, digest, kind = self._manifest(ref, ref.reference)
        manifest, manifest_digest, platforms = top, digest, []
        with _problems(ref):
            if kind in INDEX_TYPES:
                platforms = sorted({p for p, _ in index_platforms(top)})
                child_digest, _ = descriptor(choose_platform(top, platform), "platform entry")
                manifest, manifest_digest, child_kind = self._manifest(ref, child_digest)
                if child_kind in INDEX_TYPES:
                    raise ManifestProblem("nests one image index in another; only one level is supported")
            config_digest, _ = descriptor(manifest.get("config") or {}, "image config")
            sizes = layer_sizes(manifest)
        config = parse_json(self._blob(ref, config_digest), "image config")
        with _problems(ref):
            return image_info(
                config,
                reference=str(ref),
                digest=digest,
                manifest_digest=manifest_digest,
                media_type=kind,
                platforms=platforms,
                sizes=sizes,
            )

    def _manifest(self, ref: ImageRef, reference: str) -> tuple[dict[str, Any], str, str]:
        response, body = self._get(ref, f"manifests/{reference}", accept=ACCEPT, cap=MAX_MANIFEST_BYTES)
        digest = "sha256:" + hashlib.sha256(body).hexdigest()
        claimed = response.headers.get("docker-content-digest")
        expected = reference if reference.startswith("sha256:") else claimed
        if expected and expected.startswith("sha256:") and expected != digest:
            raise RegistryError(f"{ref}: the manifest's digest is {digest}, but {expected} was expected")
        with _problems(ref):
            doc = parse_json(body, "manifest")
            kind = media_type(doc, response.headers.get("content-type", ""))
        return doc, digest, kind

    def _blob(self, ref: ImageRef, digest: str) -> bytes:
        _, body = self._get(ref, f"blobs/{digest}", accept="*/*", cap=MAX_CONFIG_BYTES)
        actual = "sha256:" + hashlib.sha256(body).hexdigest()
        if actual != digest:
            raise RegistryError(f"{ref}: the image config's digest is {actual}, but {digest} was expected")
        return body

    def _get(self, ref: ImageRef, path: str, *, accept: str, cap: int) -> tuple[httpx.Response, bytes]:
        """GET and check: anything but 200 becomes the RegistryError that explains it."""
        response, body = self._fetch(ref, path, accept=accept, cap=cap)
        missing = response.status_code == 404 and path.startswith("manifests/")
        if missing and path != f"manifests/{ref.reference}":
            raise RegistryError(f"{ref}: the image index names {path[10:]}, which the registry does not have")
        if missing and "NAME_UNKNOWN" not in _error_codes(body):
            raise self._missing(ref)
        login = credentials_for(ref.registry, self.options.docker_config)
        if response.status_code == 401 and login is not None:
            raise _unauthorised(ref, login)  # the login was sent and refused
        if response.status_code != 200:
            raise _status_error(ref, response, body, path)
        return response, body

    def _fetch(self, ref: ImageRef, path: str, *, accept: str, cap: int) -> tuple[httpx.Response, bytes]:
        """GET with the login the registry asks for (once per repository, then remembered)."""
        url = f"{self._base(ref)}/v2/{ref.repository}/{path}"
        key = (ref.api_host, ref.repository)
        response, body = self._send(ref, url, {"Accept": accept, **self._header(key)}, cap)
        if response.status_code == 401:
            self._auth[key] = self._authenticate(ref, response)
            response, body = self._send(ref, url, {"Accept": accept, **self._header(key)}, cap)
        return response, body

    def _missing(self, ref: ImageRef) -> RegistryError:
        """The reference registry says MANIFEST_UNKNOWN for a missing repository too, so ask for the
        repository's tags to tell 'no such tag' from 'unknown image', and name the tags it has."""
        if ref.digest:
            return RegistryError(f"{ref}: no such digest {ref.digest} in {ref.name}")
        response, body = self._fetch(ref, "tags/list", accept="application/json", cap=MAX_MANIFEST_BYTES)
        if response.status_code == 404:
            return _unknown(ref)
        try:
            tags = parse_json(body, "tag list").get("tags") if response.status_code == 200 else None
        except ManifestProblem:
            tags = None
        if isinstance(tags, list) and not tags:
            return _unknown(ref)  # a repository whose tags were all deleted
        listed = ""
        if isinstance(tags, list):
            names = sorted(str(t) for t in tags)
            listed = f" (it has: {', '.join(names[:10])}{', ...' if len(names) > 10 else ''})"
        return RegistryError(f"{ref}: no such tag '{ref.tag}' in {ref.name}{listed}")

    def _header(self, key: tuple[str, str]) -> dict[str, str]:
        return {"Authorization": self._auth[key]} if key in self._auth else {}

    def _send(
        self, ref: ImageRef, url: str, headers: dict[str, str], cap: int, *, auth: httpx.Auth | None = None
    ) -> tuple[httpx.Response, bytes]:
        try:
            request = self._http.build_request("GET", url, headers=headers)
            response = self._http.send(request, stream=True, auth=auth)
            try:
                return response, _read_capped(
                    ref, response, cap if response.status_code == 200 else MAX_ERROR_BYTES
                )
            finally:
                response.close()
        except httpx.HTTPError as exc:
            raise _transport_error(ref, exc, url) from None

    def _base(self, ref: ImageRef) -> str:
        """https://HOST, or http://HOST for an insecure registry that does not speak TLS (as Docker)."""
        host = ref.api_host
        if host not in self._bases:
            self._bases[host] = f"https://{host}"
            if self.options.insecure or ref.is_loopback:
                self._bases[host] = self._probe(host)
        return self._bases[host]

    def _probe(self, host: str) -> str:
        try:
            self._http.get(f"https://{host}/v2/").close()
        except httpx.TransportError as exc:
            if not _is_certificate_error(exc):
                return f"http://{host}"
        return f"https://{host}"

    def _authenticate(self, ref: ImageRef, response: httpx.Response) -> str:
        scheme, params = parse_challenge(response.headers.get("www-authenticate", ""))
        login = credentials_for(ref.registry, self.options.docker_config)
        if scheme == "basic":
            if login is None:
                raise _unauthorised(ref, login)
            return basic_header(login)
        if scheme != "bearer" or not params.get("realm", "").startswith(("https://", "http://")):
            raise RegistryError(f"{ref}: the registry asks for an unsupported login ('{scheme or 'none'}')")
        return f"Bearer {self._token(ref, params, login)}"

    def _token(self, ref: ImageRef, params: dict[str, str], login: Credentials | None) -> str:
        query = {
            "service": params.get("service", ""),
            "scope": params.get("scope") or f"repository:{ref.repository}:pull",
        }
        auth = httpx.BasicAuth(login.username, login.password) if login else None
        url = str(httpx.URL(params["realm"]).copy_merge_params({k: v for k, v in query.items() if v}))
        response, body = self._send(ref, url, {"Accept": "application/json"}, MAX_ERROR_BYTES, auth=auth)
        if response.status_code in (401, 403):
            raise _unauthorised(ref, login)
        try:
            doc = parse_json(body, "token answer") if response.status_code == 200 else {}
        except ManifestProblem:
            doc = {}
        token = doc.get("token") or doc.get("access_token")
        if not isinstance(token, str) or not token:
            raise RegistryError(
                f"{ref}: the registry's login service gave no token (HTTP {response.status_code})"
            )
        return token


def basic_header(login: Credentials) -> str:
    pair = f"{login.username}:{login.password}".encode()
    return "Basic " + base64.b64encode(pair).decode("ascii")


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """`Bearer realm="https://auth",service="reg",scope="repository:a:pull"` -> ("bearer", {...})."""
    scheme, _, rest = header.strip().partition(" ")
    params = {
        m.group(1).lower(): (m.group(2) if m.group(2) is not None else m.group(3))
        for m in _CHALLENGE_PARAM.finditer(rest)
    }
    return scheme.lower(), {k: v.replace('\\"', '"') for k, v in params.items()}


@contextmanager
def _problems(ref: ImageRef) -> Iterator[None]:
    try:
        yield
    except ManifestProblem as exc:
        raise RegistryError(f"{ref}: {exc}") from None


def _read_capped(ref: ImageRef, response: httpx.Response, cap: int) -> bytes:
    chunks: list[bytes] = []
    total = 0
    for chunk in response.iter_bytes():
        total += len(chunk)
        if total > cap:
            raise RegistryError(f"{ref}: the registry sent more than {cap // 1024} kB for one document")
        chunks.append(chunk)
    return b"".join(chunks)


def _is_certificate_error(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _transport_error(ref: ImageRef, exc: httpx.HTTPError, url: str) -> RegistryError:
    host = httpx.URL(url).netloc.decode("ascii", "replace")
    if _is_certificate_error(exc):
        return RegistryError(
            f"{ref}: the TLS certificate of {host} is not trusted; give its CA with --ca-file"
        )
    if isinstance(exc, httpx.TimeoutException):
        return RegistryError(f"{ref}: registry {host} did not answer in time")
    reason = str(exc).split("] ")[-1] or type(exc).__name__
    return RegistryError(f"{ref}: registry {host} is unreachable ({reason})")


def _unauthorised(ref: ImageRef, login: Credentials | None) -> RegistryError:
    host = ref.registry
    if login is None:
        return RegistryError(f"{ref}: unauthorised: the registry wants a login; run `docker login {host}`")
    return RegistryError(
        f"{ref}: unauthorised: the registry refused the login for {host} in Docker's config file"
    )


def _unknown(ref: ImageRef) -> RegistryError:
    return RegistryError(f"{ref}: unknown image: {ref.name} does not exist")


def _status_error(ref: ImageRef, response: httpx.Response, body: bytes, path: str) -> RegistryError:
    codes = _error_codes(body)
    status = response.status_code
    if status == 404 and "NAME_UNKNOWN" in codes:
        return _unknown(ref)
    if status == 401:
        return RegistryError(
            f"{ref}: unauthorised: the image does not exist or needs a login (`docker login {ref.registry}`)"
        )
    if status == 403:
        return RegistryError(f"{ref}: access denied to {ref.name}")
    if status == 429:
        return RegistryError(f"{ref}: the registry limits requests (HTTP 429); log in or try again later")
    return RegistryError(f"{ref}: the registry answered HTTP {status} for {path.split('/')[0]}")


def _error_codes(body: bytes) -> set[str]:
    try:
        doc = parse_json(body, "error")
    except ManifestProblem:
        return set()
    errors = doc.get("errors")
    return {str(e.get("code")) for e in errors if isinstance(e, dict)} if isinstance(errors, list) else set()
