"""Registry logins from Docker's config file, so `docker login` is all a user ever has to do.

Reads `$DOCKER_CONFIG/config.json` (default `~/.docker/config.json`): the `auths` entries, whose
`auth` is base64 of `user:password`. The values are returned to the registry client only; nothing
here prints or logs them.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from unhazzle.compiler.reference import DOCKER_HUB, DOCKER_HUB_ALIASES

DOCKER_HUB_KEY = "https://index.docker.io/v1/"  # where `docker login` files Docker Hub logins
MAX_CONFIG_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str = field(repr=False)  # never shown, even in a traceback's locals


def docker_config_path() -> Path:
    folder = os.environ.get("DOCKER_CONFIG")
    return Path(folder) / "config.json" if folder else Path.home() / ".docker" / "config.json"


def credentials_for(registry: str, config: Path | None = None) -> Credentials | None:
    """The login for *registry* (as written in a reference: docker.io, ghcr.io, 127.0.0.1:5000)."""
    doc = _read(config or docker_config_path())
    auths = doc.get("auths")
    if not isinstance(auths, dict):
        return None
    wanted = _aliases(registry)
    for key, entry in auths.items():
        if _host_of(str(key)) in wanted and isinstance(entry, dict):
            found = _decode(entry)
            if found:
                return found
    return None


def _read(path: Path) -> dict[str, Any]:
    # A missing or unreadable config means "anonymous", the same as Docker treats it.
    try:
        raw = path.read_bytes()[:MAX_CONFIG_BYTES]
        doc = json.loads(raw)
    except (OSError, ValueError, RecursionError):
        return {}
    return doc if isinstance(doc, dict) else {}


def _aliases(registry: str) -> set[str]:
    return {*DOCKER_HUB_ALIASES} if registry == DOCKER_HUB else {registry}


def _host_of(key: str) -> str:
    """config.json keys are hosts or URLs (`https://index.docker.io/v1/`)."""
    host = key.split("://", 1)[-1].split("/", 1)[0]
    return host


def _decode(entry: dict[str, Any]) -> Credentials | None:
    auth = entry.get("auth")
    if isinstance(auth, str) and auth:
        try:
            user, sep, password = base64.b64decode(auth, validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return None
        return Credentials(user, password) if sep and user else None
    name, secret = entry.get("username"), entry.get("password")
    if isinstance(name, str) and isinstance(secret, str) and name:
        return Credentials(name, secret)
    return None
