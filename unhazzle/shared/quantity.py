"""Sizes as Kubernetes writes them ('512Mi', '5Gi', '536870912') in megabytes, and back in words.

Pure. Shared by the compiler (publish reads the volumes of the manifests already in the
environment repo) and the reconciler (what the cluster reports, and comparing what it holds with
what is wanted), so every part reads a quantity the same way.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from typing import Any

# Kubernetes' suffixes: decimal SI (k is kilo, m milli; no K), binary (Ki..Ei), and none
_SUFFIXES = {
    "n": Fraction(1, 10**9), "u": Fraction(1, 10**6), "m": Fraction(1, 1000), "": Fraction(1),
    "k": Fraction(10**3), "M": Fraction(10**6), "G": Fraction(10**9), "T": Fraction(10**12),
    "P": Fraction(10**15), "E": Fraction(10**18),
    "Ki": Fraction(2**10), "Mi": Fraction(2**20), "Gi": Fraction(2**30), "Ti": Fraction(2**40),
    "Pi": Fraction(2**50), "Ei": Fraction(2**60),
}  # fmt: skip
_BY_LENGTH = sorted((s for s in _SUFFIXES if s), key=len, reverse=True)
# A quantity's number as Kubernetes writes one, in ASCII digits with an exponent of at most three:
# Fraction('1e999999999') would build a billion-digit integer before comparing anything
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?", re.ASCII)
MAX_QUANTITY_CHARS = 64  # the API server keeps a quantity within 63 bits, some 20 digits
LARGEST = Fraction(2**63)  # what the cluster keeps: '9e999' is no quantity of its


def parse_quantity(value: Any) -> Fraction | None:
    """A Kubernetes quantity ('512Mi', '250m', '1e3', 2) as an exact number, or None when it is
    not one the cluster keeps."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, float):
        return Fraction(str(value)) if math.isfinite(value) else None
    if not isinstance(value, str) or not value or len(value) > MAX_QUANTITY_CHARS:
        return None
    text = value.strip()
    suffix = next((s for s in _BY_LENGTH if text.endswith(s)), "")
    number = text[: len(text) - len(suffix)]
    if not _NUMBER.fullmatch(number) or (suffix and "e" in number.lower()):  # an exponent is a suffix
        return None
    amount = Fraction(number) * _SUFFIXES[suffix]
    return amount if abs(amount) < LARGEST else None


def quantity_mb(value: Any) -> int | None:
    """A memory quantity ('512Mi', '1Gi', '536870912', '500M') in MB (binary, as sizes are written),
    rounded to the nearest; None when it is not one (or is below zero)."""
    amount = parse_quantity(value)
    return round(amount / 2**20) if amount is not None and amount >= 0 else None


def size_text(mb: int) -> str:
    return f"{mb // 1024} GB" if mb >= 1024 and mb % 1024 == 0 else f"{mb} MB"
