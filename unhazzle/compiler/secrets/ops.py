"""Changing a secrets file: set, unset and re-encrypt values. Pure apart from the encryption:
a store in, a new store out; plaintext lives only in arguments, never in what is returned."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from unhazzle.compiler.secrets.store import SecretStore, StoredSecret
from unhazzle.shared import age


class RecipientsChanged(Exception):
    """The file's values are encrypted to other keys than the spec lists now."""


@dataclass(frozen=True)
class Changes:
    """What an operation did, by secret name only."""

    added: list[str]
    changed: list[str]
    removed: list[str]


def set_values(
    store: SecretStore,
    app: str,
    values: Mapping[str, str],
    *,
    recipients: Sequence[str],
    today: str,
) -> tuple[SecretStore, Changes]:
    """*store* with *values* (name -> plaintext) encrypted to *recipients* for *app*.

    Refuses when the file's other values use other keys: mixing keys in one file would leave
    some values unreadable to someone the spec trusts (or readable to someone it no longer does).
    """
    if not values:
        return store, Changes(added=[], changed=[], removed=[])
    wanted = tuple(sorted(set(recipients)))
    others = [n for a, n in store.names() if a != app or n not in values]
    if others and store.recipients != wanted:
        raise RecipientsChanged(store.environment)
    current = dict(store.apps.get(app, {}))
    added = sorted(n for n in values if n not in current)
    for name, value in values.items():
        current[name] = StoredSecret(ciphertext=age.encrypt(value, wanted), updated=today)
    apps = {**store.apps, app: dict(sorted(current.items()))}
    changes = Changes(added=added, changed=sorted(set(values) - set(added)), removed=[])
    return replace(store, recipients=wanted, apps=dict(sorted(apps.items()))), changes


def unset_values(store: SecretStore, app: str, names: Sequence[str]) -> tuple[SecretStore, Changes]:
    current = dict(store.apps.get(app, {}))
    removed = sorted(n for n in set(names) if current.pop(n, None) is not None)
    apps = {**store.apps, app: current}
    if not current:
        del apps[app]
    recipients = store.recipients if apps else ()
    return replace(store, apps=apps, recipients=recipients), Changes(added=[], changed=[], removed=removed)


def rekey(store: SecretStore, identities: Sequence[Any], *, recipients: Sequence[str]) -> SecretStore:
    """Every value decrypted with *identities* and encrypted again to *recipients*; the dates
    stay, because no value changed. Raises age.AgeError naming the value that would not open."""
    wanted = tuple(sorted(set(recipients)))
    apps: dict[str, dict[str, StoredSecret]] = {}
    for app, values in sorted(store.apps.items()):
        apps[app] = {}
        for name, secret in sorted(values.items()):
            try:
                plain = age.decrypt(secret.ciphertext, identities)
            except age.AgeError as exc:
                raise age.AgeError(f"apps.{app}.{name}: {exc}") from None
            apps[app][name] = replace(secret, ciphertext=age.encrypt(plain, wanted))
    return replace(store, recipients=wanted, apps=apps)
