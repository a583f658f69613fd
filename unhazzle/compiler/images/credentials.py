"""Registry logins from Docker's config file, so `docker login` is all a user ever has to do.

Reads `$DOCKER_CONFIG/config.json` (default `~/.docker/config.json`): a credential helper named in
`credHelpers` (per registry) or `credsStore` (Docker Desktop's keychain), run as
`docker-credential-NAME get`, else the `auths` entries, whose `auth` is base64 of `user:password`.
The values are returned to the registry client only; nothing here prints or logs them.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from unhazzle.compiler.images.reference import DOCKER_HUB, DOCKER_HUB_ALIASES
from unhazzle.shared.readlimit import read_at_most

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
    helper = _helper_name(doc, registry)
    if helper:
        return _from_helper(helper, registry)
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
        raw = read_at_most(path, MAX_CONFIG_BYTES)
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


def _helper_name(doc: dict[str, Any], registry: str) -> str | None:
    helpers = doc.get("credHelpers")
    if isinstance(helpers, dict):
        for key, name in helpers.items():
            if _host_of(str(key)) in _aliases(registry) and isinstance(name, str) and name:
                return name
    store = doc.get("credsStore")
    return store if isinstance(store, str) and store else None


def _from_helper(name: str, registry: str) -> Credentials | None:
    """Docker's credential-helper protocol: the server on stdin, JSON {Username, Secret} out."""
    program = shutil.which(f"docker-credential-{name}")
    if program is None or "/" in name:
        return None
    server = DOCKER_HUB_KEY if registry == DOCKER_HUB else registry
    try:
        done = subprocess.run(
            [program, "get"], input=server.encode(), capture_output=True, timeout=30, check=False
        )
        doc = json.loads(done.stdout) if done.returncode == 0 else {}
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return None
    if not isinstance(doc, dict):
        return None
    user, secret = doc.get("Username"), doc.get("Secret")
    if isinstance(user, str) and isinstance(secret, str) and user and secret:
        return Credentials(user, secret)
    return None
