"""Reading a file the user names, with a ceiling: a path such as /dev/zero or /dev/urandom (or a
file far larger than any spec, key or connection file) must be bad input, not a process that
reads until it runs out of memory."""

from __future__ import annotations

import errno
from pathlib import Path

SPEC_FILE = 4 * 1024 * 1024  # a 3,000-app spec is under 1 MB; anything far larger is a mistake
SMALL_FILE = 1024 * 1024  # an age key, a token, a webhook secret: a few hundred bytes in practice
CONNECTION_FILE = 16 * 1024 * 1024  # a kubeconfig with many clusters and their certificates


class TooLarge(OSError):
    """A file over its ceiling, as an OSError: callers already say what OSError's strerror says."""

    def __init__(self, path: Path | str, limit: int) -> None:
        size = f"{limit // 2**20} MB" if limit >= 2**20 else f"{limit // 1024} KB"
        super().__init__(errno.EFBIG, f"larger than {size}, more than such a file ever holds", str(path))


def reason(exc: BaseException) -> str:
    """What a failed read or path lookup says for a message: an OSError's own words ("File name
    too long", or TooLarge's), else the exception's (a symlink loop's RuntimeError)."""
    return getattr(exc, "strerror", None) or str(exc)


def read_at_most(path: Path | str, limit: int) -> bytes:
    """The first *limit* + 1 bytes of *path* at most: enough to tell a file over *limit* from one
    within it. Raises OSError as open() and read() do (a folder: IsADirectoryError)."""
    with open(path, "rb") as handle:
        return handle.read(limit + 1)


def read_bytes(path: Path | str, limit: int) -> bytes:
    """*path*'s bytes; TooLarge over *limit*."""
    raw = read_at_most(path, limit)
    if len(raw) > limit:
        raise TooLarge(path, limit)
    return raw


def read_text(path: Path | str, limit: int) -> str:
    """*path*'s UTF-8 text; TooLarge over *limit* bytes, UnicodeDecodeError for other bytes."""
    return read_bytes(path, limit).decode("utf-8")
