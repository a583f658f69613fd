"""Secrets on their way to the cluster, for publish, preview and the reconciler. Pure functions.

- secrets_json: the environment repo's `_secrets.json` (ciphertext only, no dates, sorted).
- secrets_checksum: what the `unhazzle.io/secrets-checksum` pod-template annotation holds, from
  ciphertext, so a new value restarts the app while the plaintext never meets the manifests.
- diff_stores: which secret names were added, removed or changed, for the preview (names only).
- decrypt_secrets_json: `_secrets.json` plus an age key file -> {app: {NAME: value}}.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from unhazzle.compiler.secrets.store import FORMAT, SecretStore
from unhazzle.errors import OperationError

SECRETS_FILE = "_secrets.json"
CHECKSUM_ANNOTATION = "unhazzle.io/secrets-checksum"


@dataclass(frozen=True, order=True)
class SecretChange:
    environment: str
    app: str
    name: str
    change: Literal["added", "removed", "changed"]


def used_ciphertexts(
    store: SecretStore, used: Mapping[str, Sequence[str]] | None
) -> dict[str, dict[str, str]]:
    """app -> name -> ciphertext, limited to what *used* (app -> secret names) asks for."""
    out: dict[str, dict[str, str]] = {}
    for app, values in sorted(store.apps.items()):
        wanted = None if used is None else set(used.get(app, ()))
        chosen = {n: s.ciphertext for n, s in sorted(values.items()) if wanted is None or n in wanted}
        if chosen:
            out[app] = chosen
    return out


def secrets_json(store: SecretStore, used: Mapping[str, Sequence[str]] | None = None) -> str | None:
    """`_secrets.json` text for one environment, or None when no app has a value there (then
    publish writes no file). *used* limits it to the secrets the apps list (publish passes it,
    so a leftover value never reaches the cluster)."""
    apps = used_ciphertexts(store, used)
    if not apps:
        return None
    body = {"format": FORMAT, "recipients": list(store.recipients), "apps": apps}
    return json.dumps(body, indent=2, sort_keys=True, ensure_ascii=True) + "\n"


def secrets_checksum(ciphertexts: Mapping[str, str]) -> str:
    """sha256 over one app's (name, ciphertext) pairs in name order."""
    digest = hashlib.sha256()
    for name in sorted(ciphertexts):
        digest.update(f"{name}\0{ciphertexts[name].strip()}\0".encode("ascii", errors="replace"))
    return digest.hexdigest()


def app_checksums(store: SecretStore, used: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """app -> checksum, for every app in *used* that lists at least one secret."""
    present = used_ciphertexts(store, used)
    return {app: secrets_checksum(present.get(app, {})) for app, names in sorted(used.items()) if names}


def diff_stores(old: Mapping[str, SecretStore], new: Mapping[str, SecretStore]) -> list[SecretChange]:
    """Secret names added, removed or changed (new ciphertext) per environment and app, sorted."""
    changes: list[SecretChange] = []
    for env in sorted({*old, *new}):
        before = _flat(old.get(env))
        after = _flat(new.get(env))
        for app, name in sorted({*before, *after}):
            if (app, name) not in before:
                changes.append(SecretChange(env, app, name, "added"))
            elif (app, name) not in after:
                changes.append(SecretChange(env, app, name, "removed"))
            elif before[app, name] != after[app, name]:
                changes.append(SecretChange(env, app, name, "changed"))
    return changes


def describe_changes(changes: Sequence[SecretChange]) -> list[str]:
    """One line per change for the preview, names only: `production: web: SESSION_KEY changed`."""
    return [f"{c.environment}: {c.app}: {c.name} {c.change}" for c in sorted(changes)]


def _flat(store: SecretStore | None) -> dict[tuple[str, str], str]:
    if store is None:
        return {}
    return {(app, n): s.ciphertext.strip() for app, values in store.apps.items() for n, s in values.items()}


def parse_secrets_json(text: str, *, where: str = SECRETS_FILE) -> dict[str, dict[str, str]]:
    """app -> name -> ciphertext from `_secrets.json`; OperationError starting with *where*."""
    try:
        data: Any = json.loads(text)
    except ValueError as exc:
        raise OperationError(f"{where}: not valid JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("apps"), dict):
        raise OperationError(f"{where}: not a secrets file of format {FORMAT}")
    apps: dict[str, dict[str, str]] = {}
    for app, values in data["apps"].items():
        if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
            raise OperationError(f"{where}: apps.{app} must map secret names to ciphertext")
        apps[str(app)] = {str(k): v for k, v in values.items()}
    return apps


def decrypt_secrets_json(text: str, identity: str, *, where: str = SECRETS_FILE) -> dict[str, dict[str, str]]:
    """{app: {NAME: plaintext}} from `_secrets.json` *text* and an age key file's *identity* text.

    Raises OperationError naming the file, app and secret (never a value) when the key cannot
    open a value, so the reconciler fails that environment alone and touches nothing."""
    from unhazzle.shared import age  # the encryption library: only here, not on every compile

    try:
        identities = age.parse_identities(identity)
    except age.AgeError as exc:
        raise OperationError(f"{where}: the decryption key {exc}") from None
    out: dict[str, dict[str, str]] = {}
    for app, values in sorted(parse_secrets_json(text, where=where).items()):
        out[app] = {}
        for name, ciphertext in sorted(values.items()):
            try:
                out[app][name] = age.decrypt(ciphertext, identities)
            except age.AgeError as exc:
                raise OperationError(f"{where}: apps.{app}.{name}: {exc}") from None
    return out
