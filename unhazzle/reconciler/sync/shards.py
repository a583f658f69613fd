"""Which reconciler owns an environment when N of them split a fleet (`reconcile --shard K/N`).

An environment belongs to shard fnv-1a-32("project/environment") mod N: the same answer on every
replica, across restarts and versions, with nothing to coordinate. An administrator may pin one
to a shard with the label `unhazzle.io/shard: "K"` on its Namespace (a hot environment, given a
reconciler of its own); a pin outside 0..N-1 is ignored, so every shard still agrees on one owner.
Each shard leads on a Lease of its own; one shard (N = 1, the default) keeps the name it always had.
Pure: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from unhazzle.shared.numbers import whole_number

SHARD_LABEL = "unhazzle.io/shard"
LEASE_NAME = "unhazzle-reconciler"

_FNV_OFFSET, _FNV_PRIME = 0x811C9DC5, 0x01000193


def fnv1a32(text: str) -> int:
    """FNV-1a, 32 bits, over the UTF-8 bytes: tiny, stable and well spread over short keys."""
    value = _FNV_OFFSET
    for byte in text.encode("utf-8"):
        value = ((value ^ byte) * _FNV_PRIME) & 0xFFFFFFFF
    return value


@dataclass(frozen=True, order=True)
class Shard:
    """Shard `index` of `count`; 0/1 is the whole fleet (no sharding)."""

    index: int = 0
    count: int = 1

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    @classmethod
    def parse(cls, text: str) -> Shard:
        """`K/N` with 0 <= K < N; ValueError (in words) otherwise."""
        found = re.fullmatch(r"\s*([0-9]{1,6})\s*/\s*([0-9]{1,6})\s*", text)  # (see shared/numbers.py)
        if not found:
            raise ValueError(f"'{text}' is not K/N (for instance 0/3)")
        index, count = int(found[1]), int(found[2])
        if count < 1 or index >= count:
            raise ValueError(f"'{text}': K must be 0 to N-1 and N at least 1")
        return cls(index, count)

    @property
    def lease_name(self) -> str:
        """One Lease per shard; a single reconciler keeps today's name (upgrades need no move)."""
        return LEASE_NAME if self.count == 1 else f"{LEASE_NAME}-{self.index}"

    def owns(self, environment: str, pin: str | None = None) -> bool:
        return owner(environment, self.count, pin) == self.index


WHOLE = Shard()  # a single reconciler: every environment is its own


def owner(environment: str, count: int, pin: str | None = None) -> int:
    """The shard of `environment` ("project/environment") among `count`, a valid pin first."""
    pinned = whole_number(pin) if pin is not None else None
    if pinned is not None and pinned < count:
        return pinned
    return fnv1a32(environment) % count


def recorded(text: str) -> Shard:
    """The shard an inventory names; one written before sharding (or garbled) is the whole fleet's."""
    try:
        return Shard.parse(text)
    except ValueError:
        return WHOLE
