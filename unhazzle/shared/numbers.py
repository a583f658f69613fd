"""Whole numbers written as text (a cron field, a flag, an annotation), read as the cluster's Go
code reads them: ASCII digits only, though Python's isdigit() and int() also take Arabic-Indic
digits (and isdigit() takes superscripts, which int() then refuses), and few enough that int()
converts them (it refuses thousands)."""

from __future__ import annotations


def whole_number(text: str, *, most_digits: int = 9) -> int | None:
    """*text* as a number if it is 1 to *most_digits* ASCII digits, else None."""
    if 0 < len(text) <= most_digits and text.isascii() and text.isdigit():
        return int(text)
    return None
