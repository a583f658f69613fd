"""Sizes as Kubernetes writes them ('512Mi', '5Gi', '536870912') in megabytes, and back in words.

Pure. Shared by the compiler (publish reads the volumes of the manifests already in the
environment repo) and the reconciler (what the cluster reports), so both read a size the same way.
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Any

QUANTITY_RE = re.compile(r"\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*([KMGTE]i?|k|m)?\s*", re.ASCII)
FACTORS: dict[str, int | Fraction] = {
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Ei": 2**60,
    "m": Fraction(1, 1000), "k": 10**3, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "E": 10**18,
}  # fmt: skip
# The cluster keeps a quantity within 63 bits (19 digits); a longer one is no size we can read,
# and not one to convert (Python refuses integers over 4,300 digits)
MAX_QUANTITY_CHARS = 40


def quantity_mb(value: Any) -> int | None:
    """A memory quantity ('512Mi', '1Gi', '536870912', '500M') in MB (binary, as sizes are written),
    rounded to the nearest; None when it is not one."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() <= 64:
        value = str(value)  # (a longer int would not even convert to text)
    if not isinstance(value, str) or len(value) > MAX_QUANTITY_CHARS:
        return None
    match = QUANTITY_RE.fullmatch(value)
    if not match:
        return None
    return round(Fraction(match.group(1)) * FACTORS.get(match.group(2) or "", 1) / 2**20)


def size_text(mb: int) -> str:
    return f"{mb // 1024} GB" if mb >= 1024 and mb % 1024 == 0 else f"{mb} MB"
