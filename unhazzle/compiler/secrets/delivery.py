"""Secrets on their way to the cluster, for publish, preview and the reconciler. Pure functions.

- secrets_json: the environment repo's `_secrets.json` (ciphertext only, no dates, sorted);
  environment_secrets: that file for one planned environment, as publish writes it.
- secrets_checksum: what the `unhazzle.io/secrets-checksum` pod-template annotation holds, from
  ciphertext, so a new value restarts the app while the plaintext never meets the manifests.
- diff_stores: which secret names were added, removed or changed, for the preview (names only).
The file's format itself, and opening it, are shared with the reconciler: shared/sealed.py.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from unhazzle.compiler.planning.plan import EnvPlan, secret_users
from unhazzle.compiler.secrets.store import SecretStore
from unhazzle.shared import sealed


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
    return sealed.encode(list(store.recipients), apps)


def environment_secrets(store: SecretStore | None, env: EnvPlan) -> str | None:
    """What publish writes as `ENV/_secrets.json`: ciphertext of the secrets the environment's
    apps and jobs list, or None when none has a value (then no file)."""
    if store is None:
        return None
    return secrets_json(store, {user.name: user.secrets for user in secret_users(env)})


def secrets_checksum(ciphertexts: Mapping[str, str]) -> str:
    """sha256 over one app's (name, ciphertext) pairs in name order."""
    digest = hashlib.sha256()
    for name in sorted(ciphertexts):
        digest.update(f"{name}\0{ciphertexts[name].strip()}\0".encode("ascii", errors="replace"))
    return digest.hexdigest()


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


def _flat(store: SecretStore | None) -> dict[tuple[str, str], str]:
    if store is None:
        return {}
    return {(app, n): s.ciphertext.strip() for app, values in store.apps.items() for n, s in values.items()}
