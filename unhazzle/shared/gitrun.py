"""Running `git` as a plain process: what publish and the preview need of Git is a handful of
plumbing commands, and importing GitPython cost more than all of them together (issues 4, 5); the
reconciler's source reads the environment repo the same way."""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from unhazzle.errors import OperationError

# Why a process may not start for a moment: a limit on processes, memory or open files
PASSING = frozenset({errno.EAGAIN, errno.ENOMEM, errno.EMFILE, errno.ENFILE})


class GitUnavailable(OperationError):
    """git could not be started: `passing` when for want of a resource that comes back (a
    process limit reached for a moment), else for want of Git itself."""

    def __init__(self, message: str, *, passing: bool) -> None:
        super().__init__(message)
        self.passing = passing


@dataclass(frozen=True)
class GitResult:
    status: int
    out: bytes
    err: bytes
    timed_out: bool = False


def run_git(
    args: Sequence[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    stdin: bytes | IO[bytes] | None = None,
    timeout: float | None = None,
) -> GitResult:
    """`git ARGS...` with the caller's environment plus *env*. On *timeout* seconds, git and
    everything it started (ssh, a credential helper) are stopped, so nothing is left hanging."""
    data, handle = (stdin, None) if isinstance(stdin, bytes) else (None, stdin)
    try:
        proc = subprocess.Popen(
            ["git", *args],
            cwd=cwd,
            env={**os.environ, **(env or {})},
            stdin=subprocess.PIPE if data is not None else (handle or subprocess.DEVNULL),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # its own process group, stopped as a whole below
        )
    except OSError as exc:
        why = exc.strerror or str(exc)
        if exc.errno in PASSING:
            raise GitUnavailable(f"git: cannot start it now ({why})", passing=True) from None
        raise GitUnavailable(f"git: cannot run it ({why}); install Git", passing=False) from None
    try:
        out, err = proc.communicate(data, timeout=timeout)
    except subprocess.TimeoutExpired:
        _stop(proc)
        return GitResult(proc.returncode or -1, b"", b"", timed_out=True)
    except BaseException:  # Ctrl-C included: git runs in its own group, so stop it ourselves
        _stop(proc)
        raise
    return GitResult(proc.returncode, out, err)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()


def text(data: bytes) -> str:
    return data.decode("utf-8", "replace")
