"""Which lines an edit of a file removed and inserted: edits that keep the user's file say so."""

from __future__ import annotations

import difflib


def changed_lines(before: str, after: str) -> tuple[list[str], list[str]]:
    """(removed, inserted) lines between two texts."""
    diff = list(difflib.ndiff(before.splitlines(), after.splitlines()))
    return [d[2:] for d in diff if d.startswith("- ")], [d[2:] for d in diff if d.startswith("+ ")]
