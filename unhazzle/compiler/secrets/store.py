"""The secrets file next to the spec, `unhazzle.secrets/ENV.yaml`: secret names readable, each
value age-armored ciphertext in a block of its own, so a change shows in review as one value's
lines, by name, and nothing else.

Parsing and writing are pure (text in, text out); load_stores and save_store are the disk edge.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from unhazzle.compiler.spec.load import load_bytes, load_file
from unhazzle.compiler.spec.model import ENV_VAR_RE, NAME_RE
from unhazzle.compiler.spec.positions import Positions
from unhazzle.compiler.write import edit_file_atomic
from unhazzle.errors import InputError, Problem
from unhazzle.shared.armor import ARMOR_BEGIN, ARMOR_END
from unhazzle.shared.names import STORE_DIR as STORE_DIR  # re-exported for its readers

FORMAT = 1
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
ARMOR_LINE = re.compile(r"^[A-Za-z0-9+/=]{1,64}$")


@dataclass(frozen=True)
class StoredSecret:
    """One value: its ciphertext and the day it was last set."""

    ciphertext: str
    updated: str


@dataclass(frozen=True)
class SecretStore:
    """One environment's secret values: app -> secret name -> StoredSecret."""

    environment: str
    recipients: tuple[str, ...] = ()
    apps: dict[str, dict[str, StoredSecret]] = field(default_factory=dict)
    file: str = ""
    positions: Positions | None = None

    def names(self) -> list[tuple[str, str]]:
        """Every (app, secret name), sorted."""
        return sorted((app, name) for app, values in self.apps.items() for name in values)

    def where(self, app: str, name: str | None = None) -> tuple[int, int]:
        """Line and column of an app's (or one secret's) entry, for warnings."""
        if self.positions is None:
            return (1, 1)
        path: tuple[str, ...] = ("apps", app) if name is None else ("apps", app, name)
        return self.positions.of_key(path)


def store_path(spec: Path, environment: str) -> Path:
    return spec.parent / STORE_DIR / f"{environment}.yaml"


def dump_store(store: SecretStore) -> str:
    """The file text: fixed key order, sorted apps and names, armored lines as a literal block."""
    lines = [
        f"# Secret values of environment '{store.environment}', encrypted with age: names readable,",
        "# values not. Change them with `unhazzle secrets set|import|unset|rekey`, never by hand.",
        f"format: {FORMAT}",
        f"environment: {store.environment}",
        "recipients:" if store.recipients else "recipients: []",
        *(f"  - {key}" for key in store.recipients),
        "apps:" if any(store.apps.values()) else "apps: {}",
    ]
    for app in sorted(a for a, values in store.apps.items() if values):
        lines.append(f"  {app}:")
        for name in sorted(store.apps[app]):
            secret = store.apps[app][name]
            lines += [f"    {name}:", f'      updated: "{secret.updated}"', "      value: |"]
            lines += [f"        {line}" for line in secret.ciphertext.strip().splitlines()]
    return "\n".join(lines) + "\n"


def parse_store(text: str | bytes, *, name: str, environment: str) -> SecretStore:
    """A secrets file from its text; every problem at once, located in *name*."""
    raw = text.encode("utf-8") if isinstance(text, str) else text
    document = load_bytes(raw, name=name)
    return _from_document(document.data, document.positions, environment)


def load_stores(spec: Path, *, display: str | None = None) -> dict[str, SecretStore]:
    """Every `unhazzle.secrets/ENV.yaml` next to *spec*, by environment; none when the folder
    is missing (a new project). Raises InputError with the problems of every file."""
    stores, problems = read_stores(spec, display=display)
    if problems:
        raise InputError(problems)
    return stores


def read_stores(spec: Path, *, display: str | None = None) -> tuple[dict[str, SecretStore], list[Problem]]:
    """The secrets files next to *spec* that read well, and the problems of those that do not:
    one broken file does not hide the next."""
    folder = spec.parent / STORE_DIR
    if not folder.is_dir():
        return {}, []
    shown = Path(display).parent / STORE_DIR if display else folder
    stores: dict[str, SecretStore] = {}
    problems: list[Problem] = []
    for path in sorted(folder.glob("*.yaml")):
        try:
            document = load_file(path, display=str(shown / path.name))
            stores[path.stem] = _from_document(document.data, document.positions, path.stem)
        except InputError as exc:
            problems += exc.problems
    return stores, problems


def save_store(spec: Path, store: SecretStore) -> Path:
    path = store_path(spec, store.environment)
    try:
        edit_file_atomic(path, dump_store(store))
    except NotADirectoryError:
        # a file where the folder belongs is the user's layout to fix: bad input, not a crash
        blocker = next((p for p in path.parents if p.exists() and not p.is_dir()), path.parent)
        raise InputError(
            [
                Problem(
                    str(blocker),
                    1,
                    1,
                    f"this is a file, but secret values are kept in a folder {STORE_DIR}/ beside the "
                    "spec (one ENV.yaml per environment): move or rename the file",
                )
            ]
        ) from None
    return path


def _from_document(data: Any, positions: Positions, environment: str) -> SecretStore:
    reader = _Reader(positions)
    store = reader.store(data, environment)
    if reader.problems:
        raise InputError(reader.problems)
    return store


class _Reader:
    """Checks a loaded secrets file field by field, collecting located problems."""

    def __init__(self, positions: Positions) -> None:
        self.positions = positions
        self.problems: list[Problem] = []

    def fail(self, path: tuple[str | int, ...], message: str) -> None:
        line, col = self.positions.of_value(path)
        self.problems.append(Problem(self.positions.file, line, col, message))

    def store(self, data: Any, environment: str) -> SecretStore:
        if not isinstance(data, dict):
            self.fail((), "a secrets file is a mapping with format, recipients and apps")
            return SecretStore(environment=environment)
        for key in sorted(set(data) - {"format", "environment", "recipients", "apps"}, key=str):
            self.fail((key,), f"unknown key '{key}' in a secrets file")
        if data.get("format") != FORMAT:
            self.fail(("format",), f"format must be {FORMAT}")
        if data.get("environment", environment) != environment:
            self.fail(("environment",), f"this file belongs to environment '{environment}' (its name)")
        return SecretStore(
            environment=environment,
            recipients=self.recipients(data.get("recipients", [])),
            apps=self.apps(data.get("apps", {})),
            file=self.positions.file,
            positions=self.positions,
        )

    def recipients(self, value: Any) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(k, str) for k in value):
            self.fail(("recipients",), "recipients must be a list of age public keys")
            return ()
        return tuple(value)

    def apps(self, value: Any) -> dict[str, dict[str, StoredSecret]]:
        if not isinstance(value, dict):
            self.fail(("apps",), "apps must map app names to their secrets")
            return {}
        apps: dict[str, dict[str, StoredSecret]] = {}
        for app, secrets in value.items():
            if not isinstance(app, str) or not re.match(NAME_RE, app):
                self.fail(("apps", app), f"'{app}' is not an app name")
            elif not isinstance(secrets, dict):
                self.fail(("apps", app), f"apps.{app} must map secret names to values")
            else:
                apps[app] = self.secrets(app, secrets)
        return apps

    def secrets(self, app: str, value: dict[Any, Any]) -> dict[str, StoredSecret]:
        out: dict[str, StoredSecret] = {}
        for name, entry in value.items():
            path = ("apps", app, name)
            if not isinstance(name, str) or not re.match(ENV_VAR_RE, name):
                self.fail(path, f"'{name}' is not a secret name (letters, digits and _)")
                continue
            ciphertext = entry.get("value") if isinstance(entry, dict) else None
            updated = entry.get("updated") if isinstance(entry, dict) else None
            if not isinstance(ciphertext, str) or not _armored(ciphertext):
                self.fail((*path, "value"), f"apps.{app}.{name}: value is not age-armored ciphertext")
            elif not isinstance(updated, str) or not DATE_RE.match(updated):
                self.fail((*path, "updated"), f"apps.{app}.{name}: updated must be a date (YYYY-MM-DD)")
            else:
                out[name] = StoredSecret(ciphertext=ciphertext, updated=updated)
        return out


def _armored(text: str) -> bool:
    lines = text.strip().splitlines()
    return (
        len(lines) >= 3
        and lines[0] == ARMOR_BEGIN
        and lines[-1] == ARMOR_END
        and all(ARMOR_LINE.match(line) for line in lines[1:-1])
    )
