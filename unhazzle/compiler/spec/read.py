"""Reading a spec file's bytes, once, with the errors a user sees for a path that is no file
(parsing them is spec/load.py's job). Light on purpose: publish reads the spec before it knows
whether the parser is needed at all (compiler/publishing/replay.py)."""

from __future__ import annotations

from pathlib import Path

from unhazzle.errors import InputError, Problem
from unhazzle.shared.readlimit import SPEC_FILE, read_at_most

MAX_BYTES = SPEC_FILE


def read_spec(path: Path, *, display: str | None = None) -> bytes:
    """The bytes of the spec at *path* (a pipe is read once, and to its ceiling only); every
    failure is an InputError located in the file."""
    name = display or str(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise _error(
                name, f"file is {size / 1e6:.1f} MB; a spec may be at most {MAX_BYTES // (1024 * 1024)} MB"
            )
        raw = read_at_most(path, MAX_BYTES)
    except FileNotFoundError:
        raise _error(name, "no such file (create one with `unhazzle init`)") from None
    except IsADirectoryError:
        raise _error(name, "is a folder, not a file") from None
    except OSError as exc:
        raise _error(name, f"cannot read the file: {exc.strerror}") from None
    if len(raw) > MAX_BYTES:
        raise _error(name, f"file is larger than {MAX_BYTES // (1024 * 1024)} MB")
    return raw


def _error(name: str, message: str) -> InputError:
    return InputError([Problem(name, 1, 1, message)])
