"""What an output stream can carry: the one test of its encoding that printing and JSON share."""

from __future__ import annotations

from typing import TextIO


def carries_utf8(stream: TextIO) -> bool:
    """Whether *stream* encodes UTF-8, whatever its encoding's spelling (`UTF-8`, `utf_8`, `utf8`):
    anything else (PYTHONIOENCODING=ascii, LC_ALL=C) cannot show every character a user wrote."""
    encoding = getattr(stream, "encoding", None) or ""
    return encoding.lower().replace("-", "").replace("_", "") == "utf8"
