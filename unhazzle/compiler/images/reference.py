"""Image references: `[registry[:port]/]path[:tag][@sha256:digest]`, read the way Docker reads them.

Pure: text in, an ImageRef out. Docker Hub is the default registry (`redis` is
`docker.io/library/redis:latest`, served at registry-1.docker.io), a first component is a registry
only when it has a '.' or ':' or is `localhost`, and the tag defaults to `latest` unless a digest
is given.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

DOCKER_HUB = "docker.io"
DOCKER_HUB_API = "registry-1.docker.io"
# The names Docker accepts for Docker Hub in a reference and in ~/.docker/config.json.
DOCKER_HUB_ALIASES = ("docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com")
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1", "[::1]")

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_PATH_RE = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
_TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_DIGEST_RE = re.compile(r"^sha256:[a-f0-9]{64}$")
_HOST_RE = re.compile(
    r"^(?:[a-zA-Z0-9-]+\.)*[a-zA-Z0-9-]+(?::[0-9]{1,5})?$|^\[[0-9a-fA-F:]+\](?::[0-9]{1,5})?$"
)


class BadReference(ValueError):
    """The text is not an image reference; the message says which part is wrong."""


@dataclass(frozen=True)
class ImageRef:
    """One parsed reference. `registry` is as written (docker.io for Docker Hub)."""

    registry: str
    repository: str
    tag: str | None
    digest: str | None

    @property
    def api_host(self) -> str:
        """The host[:port] that serves the Distribution API."""
        return DOCKER_HUB_API if self.registry == DOCKER_HUB else self.registry

    @property
    def reference(self) -> str:
        """What to ask the registry for: the digest when there is one, else the tag."""
        return self.digest or self.tag or "latest"

    @property
    def is_loopback(self) -> bool:
        host = self.registry.rsplit(":", 1)[0] if not self.registry.startswith("[") else self.registry
        return host in LOOPBACK_HOSTS or self.registry.startswith("[::1]")

    @property
    def name(self) -> str:
        """registry/repository, as Docker prints it."""
        return f"{self.registry}/{self.repository}"

    def __str__(self) -> str:
        text = self.name
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text

    def pinned(self, digest: str) -> ImageRef:
        """The same image, recorded by tag and digest (the tag stays for people to read)."""
        return replace(self, digest=digest)


def parse_reference(text: str) -> ImageRef:
    """Parse *text*; raises BadReference naming the part that is wrong."""
    if not text or len(text) > 512 or text.strip() != text:
        raise BadReference(f"'{text}' is not an image reference (write it like ghcr.io/acme/web:1.0)")
    rest, digest = _split_digest(text)
    registry, path = _split_registry(rest)
    path, tag = _split_tag(path)
    if not _PATH_RE.match(path):
        raise BadReference(
            f"'{text}': '{path}' is not a repository name (lowercase letters, digits, '.', '_', '-', '/')"
        )
    if registry == DOCKER_HUB and "/" not in path:
        path = f"library/{path}"
    if tag is None and digest is None:
        tag = "latest"
    return ImageRef(registry=registry, repository=path, tag=tag, digest=digest)


def _split_digest(text: str) -> tuple[str, str | None]:
    if "@" not in text:
        return text, None
    rest, digest = text.split("@", 1)
    if not _DIGEST_RE.match(digest):
        raise BadReference(f"'{text}': '{digest}' is not a sha256 digest (sha256: and 64 hex digits)")
    return rest, digest


def _split_registry(text: str) -> tuple[str, str]:
    first, sep, rest = text.partition("/")
    if not sep or not ("." in first or ":" in first or first == "localhost" or first.startswith("[")):
        return DOCKER_HUB, text
    if not _HOST_RE.match(first):
        raise BadReference(f"'{text}': '{first}' is not a registry host")
    if first in DOCKER_HUB_ALIASES:
        return DOCKER_HUB, rest
    return first, rest


def _split_tag(path: str) -> tuple[str, str | None]:
    head, sep, last = path.rpartition("/")
    if ":" not in last:
        return path, None
    name, tag = last.split(":", 1)
    if not _TAG_RE.match(tag):
        raise BadReference(f"'{path}': '{tag}' is not a tag (letters, digits, '_', '.', '-')")
    return f"{head}{sep}{name}", tag
