"""Fresh age key pairs for the tests, as `age-keygen` makes them (users bring their own keys;
Unhazzle itself never generates one)."""

from __future__ import annotations

import pyrage

from unhazzle.shared.age import public_key


def generate_identity() -> tuple[str, str]:
    """A new (secret key, public key) pair."""
    identity = pyrage.x25519.Identity.generate()
    return str(identity), public_key(identity)
