"""What an output stream can carry: the one test of its encoding that printing and JSON share."""

from __future__ import annotations

import codecs
from typing import TextIO


def carries_utf8(stream: TextIO) -> bool:
    """Whether *stream* encodes UTF-8, whatever its encoding's spelling (`UTF-8`, `utf_8`, `u8`):
    anything else (PYTHONIOENCODING=ascii, LC_ALL=C) cannot show every character a user wrote."""
    try:
        return codecs.lookup(getattr(stream, "encoding", None) or "").name in ("utf-8", "utf-8-sig")
    except LookupError:  # (no encoding, or one Python does not know)
        return False
