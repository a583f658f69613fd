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
    """app -> name -> ciphertext; OperationError starting with *where*."""
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
