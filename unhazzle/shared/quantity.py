"""Sizes as Kubernetes writes them ('512Mi', '5Gi', '536870912') in megabytes, and back in words.

Pure. Shared by the compiler (publish reads the volumes of the manifests already in the
environment repo) and the reconciler (what the cluster reports), so both read a size the same way.
"""

from __future__ import annotations

import re
from typing import Any


def quantity_mb(value: Any) -> int | None:
    """A memory quantity ('512Mi', '1Gi', '536870912', '500M') in MB (binary, as sizes are written)."""
    if not isinstance(value, str | int):
        return None
    match = re.fullmatch(r"\s*([0-9.]+)\s*([KMGTE]i?|k|m)?\s*", str(value))
    if not match:
        return None
    factors = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 1e3, "K": 1e3, "M": 1e6}
    factors |= {"G": 1e9, "T": 1e12, "m": 1e-3, "Ei": 2**60, "E": 1e18}
    try:
        number = float(match.group(1))
    except ValueError:
        return None
    return round(number * factors.get(match.group(2) or "", 1) / 2**20)


def size_text(mb: int) -> str:
    return f"{mb // 1024} GB" if mb >= 1024 and mb % 1024 == 0 else f"{mb} MB"
