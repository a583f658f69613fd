"""How each request proves who sends it, kept fresh as client-go keeps it.

- a token, or a client certificate and key, as written in the kubeconfig;
- a token file (tokenFile, or the pod's service account token, which the kubelet rotates):
  read again when the file changes, and at least every minute as client-go does;
- username and password (basic authentication);
- an exec credential plugin (client.authentication.k8s.io v1 or v1beta1): run when first needed,
  its answer kept until its expirationTimestamp, run again after that and once when the server
  answers 401 (the credentials were revoked early).
Thread-safe: the reconciler's threads share one Credentials.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from unhazzle.shared import readlimit

REREAD_S = 60.0  # client-go's cached token file source reads the file again every minute
PLUGIN_TIMEOUT_S = 120.0  # a plugin that waits for someone to sign in must not hang us forever


class Unusable(Exception):
    """Settings or credentials we cannot connect with; the message says why in plain words."""


class CredentialsFailed(Unusable):
    """Credentials could not be had (a plugin failed, a token file vanished)."""


@dataclass
class TokenFile:
    path: Path
    _token: str = ""
    _seen: tuple[int, int, int] | None = None  # (inode, size, mtime) when last read
    _read_at: float = 0.0

    def token(self, now: float) -> str:
        try:
            st = os.stat(self.path)
        except OSError as exc:
            raise CredentialsFailed(f"cannot read the token file {self.path}: {exc.strerror}") from None
        seen = (st.st_ino, st.st_size, st.st_mtime_ns)
        if seen != self._seen or now - self._read_at >= REREAD_S:
            try:
                self._token = readlimit.read_text(self.path, readlimit.SMALL_FILE).strip()
            except OSError as exc:
                raise CredentialsFailed(
                    f"cannot read the token file {self.path}: {exc.strerror or exc}"
                ) from None
            except UnicodeDecodeError:
                raise CredentialsFailed(f"cannot read the token file {self.path}: not text") from None
            self._seen, self._read_at = seen, now
        return self._token


@dataclass(frozen=True)
class Issued:
    """What a plugin answered: a token or a client certificate, until `expires` (epoch seconds)."""

    token: str | None = None
    cert: tuple[bytes, bytes] | None = None
    expires: float | None = None


@dataclass(frozen=True)
class Plugin:
    command: str
    args: list[str]
    env: dict[str, str]
    api_version: str
    exec_info: dict[str, Any]  # KUBERNETES_EXEC_INFO: the ExecCredential the plugin is given
    install_hint: str = ""

    def run(self) -> Issued:
        env = {**os.environ, **self.env, "KUBERNETES_EXEC_INFO": json.dumps(self.exec_info)}
        name = f"the credential plugin '{self.command}'"
        try:
            done = subprocess.run(
                [self.command, *self.args], env=env, stdin=subprocess.DEVNULL, capture_output=True,
                timeout=PLUGIN_TIMEOUT_S, check=False,
            )  # fmt: skip
        except FileNotFoundError:
            raise CredentialsFailed(
                f"{name} is not installed{'; ' + self.install_hint if self.install_hint else ''}"
            ) from None
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise CredentialsFailed(f"{name} could not run: {exc}") from None
        if done.returncode != 0:
            said = done.stderr.decode(errors="replace").strip().splitlines()
            raise CredentialsFailed(
                f"{name} failed (exit {done.returncode}){': ' + said[-1] if said else ''}"
            )
        return self._parse(done.stdout, name)

    def _parse(self, out: bytes, name: str) -> Issued:
        try:
            answer = json.loads(out)
            status = answer.get("status") or {}
            version = answer.get("apiVersion")
        except (ValueError, AttributeError):
            raise CredentialsFailed(f"{name} did not answer with an ExecCredential (JSON)") from None
        if version != self.api_version:
            raise CredentialsFailed(f"{name} answered with apiVersion '{version}', not '{self.api_version}'")
        cert, key = status.get("clientCertificateData"), status.get("clientKeyData")
        if not status.get("token") and not (cert and key):
            raise CredentialsFailed(f"{name} gave neither a token nor a client certificate and key")
        expires = status.get("expirationTimestamp")
        try:
            until = datetime.fromisoformat(str(expires)).timestamp() if expires else None
        except ValueError:
            raise CredentialsFailed(
                f"{name} gave an expirationTimestamp that is not a time: {expires}"
            ) from None
        pair = (str(cert).encode(), str(key).encode()) if cert and key else None
        return Issued(token=str(status.get("token") or "") or None, cert=pair, expires=until)


@dataclass
class Credentials:
    """The user's credentials; the plugin's, when there is one, come first."""

    token: str | None = None
    token_file: TokenFile | None = None
    basic: tuple[str, str] | None = None
    cert: tuple[bytes, bytes] | None = None
    plugin: Plugin | None = None
    clock: Callable[[], float] = time.time  # wall time: a plugin's expirationTimestamp is one
    _issued: Issued | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def authorization(self) -> str | None:
        """The Authorization header's value, or None (a client certificate only, or nobody)."""
        with self._lock:
            issued = self._fresh()
            if issued and issued.token:
                return f"Bearer {issued.token}"
            if self.token_file:
                return f"Bearer {self.token_file.token(time.monotonic())}"
            if self.token:
                return f"Bearer {self.token}"
        if self.basic:
            return "Basic " + base64.b64encode(":".join(self.basic).encode()).decode()
        return None

    def client_cert(self) -> tuple[bytes, bytes] | None:
        """The client certificate and key (PEM) to connect with, or None."""
        with self._lock:
            issued = self._fresh()
        return issued.cert if issued and issued.cert else self.cert

    def refresh(self) -> bool:
        """After a 401: run the plugin again (True: asking again may now succeed)."""
        if not self.plugin:
            return False
        with self._lock:
            self._issued = self.plugin.run()
        return True

    def prepare(self) -> None:
        """Get the first credentials now, so a failing plugin is reported before any request."""
        self.client_cert()
        self.authorization()

    def _fresh(self) -> Issued | None:
        if self.plugin is None:
            return None
        expires = self._issued.expires if self._issued else 0.0
        if self._issued is None or (expires is not None and self.clock() >= expires):
            self._issued = self.plugin.run()
        return self._issued
