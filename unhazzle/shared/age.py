"""age encryption, the one module that imports pyrage: ASCII-armored ciphertext that the `age`
command-line tool reads and writes too, so users are never locked into Unhazzle.

Errors never quote plaintext; at most they name the value by where it sits.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyrage

from unhazzle.shared.armor import ARMOR_BEGIN as ARMOR_BEGIN  # re-exported: callers know it here
from unhazzle.shared.armor import ARMOR_END as ARMOR_END


class AgeError(Exception):
    """A key or a ciphertext age refuses; the message says which, never what it holds."""


def encrypt(value: str, recipients: Sequence[str]) -> str:
    """*value* (UTF-8) encrypted to every one of *recipients*, as armored text ending in a newline."""
    if not recipients:
        raise AgeError("no recipients to encrypt to")
    keys = [_recipient(key) for key in recipients]
    try:
        armored: bytes = pyrage.encrypt(value.encode("utf-8"), keys, armored=True)
    except pyrage.EncryptError as exc:
        raise AgeError(f"cannot encrypt: {exc}") from None
    text = armored.decode("ascii")
    return text if text.endswith("\n") else text + "\n"


def decrypt(armored: str, identities: Sequence[Any]) -> str:
    """The UTF-8 text inside *armored*, using any of *identities* (from parse_identities)."""
    if not armored.lstrip().startswith(ARMOR_BEGIN):
        raise AgeError("is not age ciphertext (no BEGIN AGE ENCRYPTED FILE line)")
    try:
        plain: bytes = pyrage.decrypt(armored.encode("ascii", errors="replace"), list(identities))
    except pyrage.DecryptError:
        raise AgeError("cannot be decrypted with the given key (encrypted to other recipients?)") from None
    try:
        return plain.decode("utf-8")
    except UnicodeDecodeError:
        raise AgeError("decrypts to bytes that are not UTF-8 text") from None


def parse_identities(text: str) -> list[Any]:
    """The secret keys in an `age-keygen` key file (comment lines and blank lines allowed)."""
    identities = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            identities.append(pyrage.x25519.Identity.from_str(line))
        except pyrage.IdentityError:
            raise AgeError(f"line {number}: not an age secret key (AGE-SECRET-KEY-1...)") from None
    if not identities:
        raise AgeError("holds no age secret key (AGE-SECRET-KEY-1...)")
    return identities


def new_key() -> tuple[str, str]:
    """A fresh key pair: (AGE-SECRET-KEY-1..., age1...), as `age-keygen` makes them."""
    identity = pyrage.x25519.Identity.generate()
    return str(identity), str(identity.to_public())


def public_key(identity: Any) -> str:
    """The age1... recipient of a secret key from parse_identities."""
    return str(identity.to_public())


def _recipient(key: str) -> Any:
    try:
        return pyrage.x25519.Recipient.from_str(key)
    except pyrage.RecipientError:
        raise AgeError(f"'{key[:12]}...' is not an age public key") from None
