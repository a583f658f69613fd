"""The sealed secrets file of an environment folder (`_secrets.json`): what publish writes and the
reconciler opens. Ciphertext only, per app and name, with the recipients it was sealed to; the
encryption library loads only when a value is opened."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from unhazzle.errors import OperationError
from unhazzle.shared.names import SECRETS_FILE

FORMAT = 1


def encode(recipients: list[str], apps: Mapping[str, Mapping[str, str]]) -> str:
    """The file's exact text: sorted keys, 2-space indent, ASCII, one final newline (so the same
    ciphertext always makes the same bytes, and Git sees no change)."""
    body = {"format": FORMAT, "recipients": recipients, "apps": apps}
    return json.dumps(body, indent=2, sort_keys=True, ensure_ascii=True) + "\n"


def parse(text: str, *, where: str = SECRETS_FILE) -> dict[str, dict[str, str]]:
    """app -> name -> ciphertext (all the reconciler needs); OperationError starting with *where*."""
    return _apps(_document(text, where), where)


def read(text: str, *, where: str = SECRETS_FILE) -> tuple[list[str], dict[str, dict[str, str]]]:
    """The keys the values are sealed to, and app -> name -> ciphertext (for a file written anew
    from it); OperationError starting with *where*."""
    data = _document(text, where)
    recipients = data.get("recipients")
    if not isinstance(recipients, list) or not all(isinstance(r, str) for r in recipients):
        raise OperationError(f"{where}: recipients must be a list of keys")
    return recipients, _apps(data, where)


def _document(text: str, where: str) -> dict[str, Any]:
    try:
        data: Any = json.loads(text)
    except ValueError as exc:
        raise OperationError(f"{where}: not valid JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("apps"), dict):
        raise OperationError(f"{where}: not a secrets file of format {FORMAT}")
    return data


def _apps(data: dict[str, Any], where: str) -> dict[str, dict[str, str]]:
    apps: dict[str, dict[str, str]] = {}
    for app, values in data["apps"].items():
        if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
            raise OperationError(f"{where}: apps.{app} must map secret names to ciphertext")
        apps[str(app)] = {str(k): v for k, v in values.items()}
    return apps


def decrypt(text: str, identity: str, *, where: str = SECRETS_FILE) -> dict[str, dict[str, str]]:
    """{app: {NAME: plaintext}} from the file's *text* and an age key file's *identity* text.

    Raises OperationError naming the file, app and secret (never a value) when the key cannot
    open a value, so the reconciler fails that environment alone and touches nothing."""
    from unhazzle.shared import age  # the encryption library: only here, not on every compile

    try:
        identities = age.parse_identities(identity)
    except age.AgeError as exc:
        raise OperationError(f"{where}: the decryption key {exc}") from None
    out: dict[str, dict[str, str]] = {}
    for app, values in sorted(parse(text, where=where).items()):
        out[app] = {}
        for name, ciphertext in sorted(values.items()):
            try:
                out[app][name] = age.decrypt(ciphertext, identities)
            except age.AgeError as exc:
                raise OperationError(f"{where}: apps.{app}.{name}: {exc}") from None
    return out
