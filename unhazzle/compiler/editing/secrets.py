"""The work behind `unhazzle secrets ...` and `unhazzle env import`: read the spec and the files
next to it, change them through the pure modules, write atomically. Plaintext values pass through
here on their way to age and are never printed, logged or written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from unhazzle.compiler.editing.aliases import SharedPlace
from unhazzle.compiler.editing.flatjson import Entry
from unhazzle.compiler.editing.recipients import add_recipient
from unhazzle.compiler.editing.relocate import relocate
from unhazzle.compiler.editing.settings import SettingsEdit, merge_settings, remove_settings, settings_path
from unhazzle.compiler.pipeline import Compiled, compile_text
from unhazzle.compiler.planning.plan import secret_users
from unhazzle.compiler.secrets.check import unlisted
from unhazzle.compiler.secrets.delivery import environment_secrets
from unhazzle.compiler.secrets.ops import Changes, RecipientsChanged, rekey, set_values, unset_values
from unhazzle.compiler.secrets.store import SecretStore, save_store, store_path
from unhazzle.compiler.secrets.tls import tls_warning
from unhazzle.compiler.spec.load import PARSER_FAULT, PARSER_FAULTS
from unhazzle.compiler.spec.model import NUL
from unhazzle.compiler.write import edit_file_atomic
from unhazzle.errors import InputError, Problem, UsageError
from unhazzle.shared import age


@dataclass(frozen=True)
class SecretsResult:
    """What a secrets command changed (names only) and where, plus warnings worth reading."""

    file: str
    changes: Changes
    notices: list[str]
    also: dict[str, list[str]] = field(default_factory=dict)  # other app -> database secrets set too


def import_settings(
    compiled: Compiled,
    spec: Path,
    *,
    entries: Sequence[Entry],
    app: str,
    environment: str | None,
    dry_run: bool,
) -> SettingsEdit:
    """Merge *entries* into the spec file; the edited spec must still be valid, else nothing is
    written and InputError lists why."""
    try:
        edit = merge_settings(compiled.document.text, entries, app=app, environment=environment)
    except SharedPlace as exc:
        raise _shared(compiled, exc) from None
    except PARSER_FAULTS:
        raise _unreadable(compiled) from None
    return _save_edit(
        compiled, spec, edit, entries=entries, path=settings_path(app, environment), dry_run=dry_run
    )


def unset_settings(
    compiled: Compiled, spec: Path, *, names: Sequence[str], app: str, environment: str | None, dry_run: bool
) -> SettingsEdit:
    """Take *names* out of the app's settings in the spec file (checked valid before writing)."""
    try:
        edit = remove_settings(compiled.document.text, names, app=app, environment=environment)
    except SharedPlace as exc:
        raise _shared(compiled, exc) from None
    except PARSER_FAULTS:
        raise _unreadable(compiled) from None
    return _save_edit(compiled, spec, edit, entries=[], path=settings_path(app, environment), dry_run=dry_run)


def _save_edit(
    compiled: Compiled,
    spec: Path,
    edit: SettingsEdit,
    *,
    entries: Sequence[Entry],
    path: Sequence[str],
    dry_run: bool,
) -> SettingsEdit:
    """An edited spec is written only when it still compiles (else InputError, nothing written,
    each problem located in the files the user has, not in the edited text)."""
    document = compiled.document
    if edit.text != document.text:
        try:
            compile_text(edit.text, name=document.positions.file)
        except InputError as exc:
            problems = relocate(
                exc.problems,
                spec=document.positions.file,
                original=document.text,
                edit=edit,
                path=path,
                entries=entries,
            )
            raise InputError(problems) from None
        if not dry_run:
            edit_file_atomic(spec, edit.text)
    return edit


def _unreadable(compiled: Compiled) -> InputError:
    """The round-trip parser, which keeps comments and layout, cannot read the spec as written."""
    return InputError([Problem(compiled.document.positions.file, 1, 1, f"cannot be edited: {PARSER_FAULT}")])


def _shared(compiled: Compiled, exc: SharedPlace) -> InputError:
    positions = compiled.document.positions
    line, column = positions.of_key(exc.place)
    return InputError([Problem(positions.file, line, column, str(exc))])


def spec_with_recipient(compiled: Compiled, key: str, *, environment: str | None) -> str:
    """The spec's text with *key* among its recipients, checked to compile (else InputError)."""
    document = compiled.document
    try:
        text = add_recipient(document.text, key, environment=environment)
    except SharedPlace as exc:
        raise _shared(compiled, exc) from None
    except PARSER_FAULTS:
        raise _unreadable(compiled) from None
    compile_text(text, name=document.positions.file)
    return text


def store_name(spec: Path, environment: str) -> str:
    return str(store_path(spec, environment))


def set_secrets(
    compiled: Compiled, spec: Path, *, app: str, environment: str, values: Mapping[str, str], today: str
) -> SecretsResult:
    """Encrypt *values* for *app* in *environment* to the spec's recipients and save them. A
    database's secret (its connection URL) is the same for every app that uses the database: it
    is stored for each of them in the same step, so a shared database is set once."""
    held = [name for name, value in values.items() if "\x00" in value]  # (typed at a terminal too)
    if held:  # as a setting's: the app gets its secrets as settings
        raise UsageError("\n".join(f"{name}: the value {NUL}" for name in held))
    recipients = _recipients(compiled, environment)
    store = compiled.stores.get(environment) or SecretStore(environment=environment)
    sharers = _sharing(compiled, environment, app, values)
    try:
        new, changes = set_values(store, app, values, recipients=recipients, today=today)
        for other, names in sharers.items():
            new, _ = set_values(new, other, {n: values[n] for n in names}, recipients=recipients, today=today)
    except RecipientsChanged:
        raise _stale(compiled, environment) from None
    except age.AgeError as exc:
        raise UsageError(f"{store_name(spec, environment)}: {exc}") from None
    if values:
        save_store(spec, new)
    listed = _listed(compiled, environment, app)
    notices = [unlisted(app, name, environment) for name in sorted(values) if name not in listed]
    notices += _tls_notices(compiled, app, values)
    return SecretsResult(file=store_name(spec, environment), changes=changes, notices=notices, also=sharers)


def unset_secrets(
    compiled: Compiled, spec: Path, *, app: str, environment: str, names: Sequence[str]
) -> SecretsResult:
    store = compiled.stores.get(environment) or SecretStore(environment=environment)
    new, changes = unset_values(store, app, names)
    unknown = sorted(set(names) - set(changes.removed))
    if changes.removed:
        save_store(spec, new)
    notices = [f"app {app} has no stored secret {name} in {environment}" for name in unknown]
    return SecretsResult(file=store_name(spec, environment), changes=changes, notices=notices)


def rekey_secrets(compiled: Compiled, spec: Path, *, environment: str, identity: str) -> SecretsResult:
    """Re-encrypt every value of *environment* to the spec's current recipients."""
    recipients = _recipients(compiled, environment)
    store = compiled.stores.get(environment) or SecretStore(environment=environment)
    try:
        new = rekey(store, age.parse_identities(identity), recipients=recipients)
    except age.AgeError as exc:
        raise UsageError(f"{store_name(spec, environment)}: {exc}") from None
    save_store(spec, new)
    names = [f"{app}.{name}" for app, name in new.names()]
    return SecretsResult(file=store_name(spec, environment), changes=Changes([], names, []), notices=[])


def secrets_for_environment(compiled: Compiled, environment: str) -> str | None:
    """What publish writes as `ENV/_secrets.json`: ciphertext of the secrets the environment's
    apps list, or None when none has a value (then no file)."""
    return environment_secrets(compiled.stores.get(environment), compiled.plan.environment(environment))


def _tls_notices(compiled: Compiled, app: str, values: Mapping[str, str]) -> list[str]:
    """A database URL that does not ask for TLS sends passwords in the clear across the
    internet; say so when it is set, since afterwards only ciphertext exists to look at."""
    notices = []
    owner = compiled.spec.apps.get(app) or compiled.spec.jobs[app]
    for db_name in owner.databases:
        db = compiled.spec.databases.get(db_name)
        value = values.get(db.secret) if db else None
        warning = tls_warning(value) if value is not None else None
        if db is not None and warning:
            notices.append(f"{db.secret} (database {db_name}) does not ask for TLS: {warning}")
    return notices


def _recipients(compiled: Compiled, environment: str) -> list[str]:
    recipients = compiled.spec.recipients(environment)
    if not recipients:
        positions = compiled.document.positions
        line, col = positions.of_key(("environments", environment))
        raise InputError(
            [
                Problem(
                    positions.file,
                    line,
                    col,
                    f"environment {environment} has no keys to encrypt secrets to: make one with "
                    "`unhazzle secrets keygen`, or add `secrets: {recipients: [age1...]}` to it "
                    "(the cluster's key) or to the top of the spec (your team's keys, from "
                    "`age-keygen -y KEYFILE`)",
                )
            ]
        )
    return recipients


def _stale(compiled: Compiled, environment: str) -> InputError:
    store = compiled.stores[environment]
    line, col = store.positions.of_key(("recipients",)) if store.positions else (1, 1)
    return InputError(
        [
            Problem(
                store.file,
                line,
                col,
                f"values here are encrypted to other keys than the spec lists for {environment}; "
                f"run `unhazzle secrets rekey --env {environment}` first, so every value is readable "
                "by exactly the keys the spec names",
            )
        ]
    )


def _sharing(
    compiled: Compiled, environment: str, app: str, values: Mapping[str, str]
) -> dict[str, list[str]]:
    """The other apps of `environment` that get some of `values` too: those using a database
    whose secret is one of them and which `app` uses as well (other app -> names)."""
    spec = compiled.spec
    apps = {user.name: user for user in secret_users(compiled.plan.environment(environment))}
    mine = apps.get(app)
    if mine is None:
        return {}
    found: dict[str, list[str]] = {}
    for db in mine.databases:
        database = spec.databases.get(db)
        if database is None or database.secret not in values:
            continue
        for other, other_app in apps.items():
            if other != app and db in other_app.databases:
                found.setdefault(other, []).append(database.secret)
    return {other: sorted(set(names)) for other, names in sorted(found.items())}


def _listed(compiled: Compiled, environment: str, app: str) -> set[str]:
    env = compiled.plan.environment(environment)
    return {name for user in secret_users(env) if user.name == app for name in user.secrets}


def listing(compiled: Compiled, environments: Sequence[str]) -> list[tuple[str, str, str, str]]:
    """(environment, app, secret, state) rows, state being 'set YYYY-MM-DD', 'missing' or
    'unused'; never a value."""
    rows = []
    for name in environments:
        env = compiled.plan.environment(name)
        store = compiled.stores.get(name) or SecretStore(environment=name)
        wanted = {(user.name, secret) for user in secret_users(env) for secret in user.secrets}
        for app, secret in sorted(wanted | set(store.names())):
            stored = store.apps.get(app, {}).get(secret)
            state = "unused" if (app, secret) not in wanted else "missing" if stored is None else "set"
            when = f" {stored.updated}" if stored is not None else ""
            rows.append((name, app, secret, f"{state}{when}"))
    return rows
