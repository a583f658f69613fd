"""Running `git` as a plain process: what publish and the preview need of Git is a handful of
plumbing commands, and importing GitPython cost more than all of them together (issues 4, 5); the
reconciler's source reads the environment repo the same way."""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import subprocess
import threading
import time
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
    proc = _popen(
        args,
        cwd=cwd,
        env=env,
        stdin=subprocess.PIPE if data is not None else (handle or subprocess.DEVNULL),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        out, err = proc.communicate(data, timeout=timeout)
    except subprocess.TimeoutExpired:
        _stop(proc)
        return GitResult(proc.returncode or -1, b"", b"", timed_out=True)
    except BaseException:  # Ctrl-C included: git runs in its own group, so stop it ourselves
        _stop(proc)
        raise
    return GitResult(proc.returncode, out, err)


class StartedGit:
    """`git ARGS...` running while the caller does other work (publish fetches while it
    compiles), for commands whose output is their status and messages. A thread reads the
    messages as they come, so git never stalls on a full pipe and they never touch the disk."""

    def __init__(self, args: Sequence[str], *, env: Mapping[str, str] | None, timeout: float) -> None:
        self._deadline = time.monotonic() + timeout
        self._result: GitResult | None = None
        self._messages = b""
        self._reader = threading.Thread(target=self._read, name="git messages", daemon=True)
        self._proc = _popen(
            args,
            cwd=None,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            self._reader.start()
        except BaseException as exc:  # Ctrl-C, or no thread to be had: git is not left behind
            self._end_group()
            if self._proc.stderr is not None:
                self._proc.stderr.close()
            if isinstance(exc, RuntimeError):
                raise GitUnavailable(f"git: cannot follow it now ({exc})", passing=True) from None
            raise

    def _read(self) -> None:
        assert self._proc.stderr is not None
        with self._proc.stderr:
            self._messages = self._proc.stderr.read()

    def result(self) -> GitResult:
        """Its status and messages once it has ended (stopped at the timeout given)."""
        if self._result is None:
            try:
                status = self._proc.wait(timeout=max(0.0, self._deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self._end_group()
                self._result = GitResult(self._proc.returncode or -1, b"", b"", timed_out=True)
            except BaseException:  # Ctrl-C included, as in run_git
                self._end_group()
                raise
            else:
                self._reader.join(timeout=5)  # the pipe closes once git and its children are gone
                if self._reader.is_alive():  # a child of git's still holds it: ended, read to the end
                    self._end_group()
                self._result = GitResult(status, b"", self._messages)
        return self._result

    def stop(self) -> None:
        """End it if it still runs (its caller gave up): asked first, so Git removes its lock
        files; then whatever of its process group is left (a transport or helper that ignored
        the request, or a second Ctrl-C meanwhile) is killed."""
        if self._result is not None or self._proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._proc.pid, signal.SIGTERM)
        try:
            self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        finally:
            self._end_group()

    def _end_group(self) -> None:
        """Kill what is left of git's process group, wait for git, and let the reader finish."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._proc.pid, signal.SIGKILL)
        self._proc.wait()
        if self._reader.is_alive():
            self._reader.join(timeout=5)


def _popen(
    args: Sequence[str],
    *,
    cwd: Path | None,
    env: Mapping[str, str] | None,
    stdin: int | IO[bytes],
    stdout: int | IO[bytes],
    stderr: int | IO[bytes],
) -> subprocess.Popen[bytes]:
    try:
        return subprocess.Popen(
            ["git", *args],
            cwd=cwd,
            env={**os.environ, **(env or {})},
            stdin=stdin,
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,  # its own process group, stopped as a whole
        )
    except OSError as exc:
        why = exc.strerror or str(exc)
        if exc.errno in PASSING:
            raise GitUnavailable(f"git: cannot start it now ({why})", passing=True) from None
        raise GitUnavailable(f"git: cannot run it ({why}); install Git", passing=False) from None


def _stop(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()


def text(data: bytes) -> str:
    return data.decode("utf-8", "replace")
