"""The one error hierarchy of Unhazzle; the CLI maps each kind to an exit code.

Every message starts with *where*: a file position (``unhazzle.yaml:12:5``) for bad input, or the
object or remote concerned for operational failures.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar, overload


class UnhazzleError(Exception):
    """Base of every error we raise on purpose; anything else is a bug."""

    exit_code = 1

    def lines(self) -> list[str]:
        """The lines printed on stderr, one per problem."""
        return [str(self)]


@dataclass(frozen=True, order=True)
class Problem:
    """One located problem in a user's file, printed as FILE:LINE:COLUMN: error: MESSAGE."""

    file: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: error: {printable(shortened(self.message))}"


LONG_RUN = re.compile(r"[^\s']{200,}")


def shortened(text: str) -> str:
    """*text* with any run of 200 or more characters (a hostile key or name quoted back) cut to
    its first 60 and '...', so one problem stays one readable line."""
    return LONG_RUN.sub(lambda m: m.group()[:60] + "...", text)


def printable(text: str) -> str:
    """*text* on one visible line: control characters (newlines, escapes, separators) that a
    hostile name or value could carry are shown escaped, so one problem is always one line."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


class InputError(UnhazzleError):
    """Bad input (spec, flags, files): exit code 2, every problem at once."""

    exit_code = 2

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = sorted(set(problems))
        super().__init__("\n".join(str(p) for p in self.problems))

    def lines(self) -> list[str]:
        return [str(p) for p in self.problems]


class UsageError(UnhazzleError):
    """A bad flag or argument combination that has no file position: exit code 2. Each line is
    `WHERE: error: MESSAGE` (where: the flag, the file or the environment concerned), like a
    located problem's."""

    exit_code = 2

    def lines(self) -> list[str]:
        return [marked(line) for line in str(self).splitlines()]


def marked(line: str) -> str:
    """*line* with `error:` after its first part, unless it says so already."""
    if " error: " in line or line.startswith("error: "):
        return line
    where, sep, message = line.partition(": ")
    return f"{where}: error: {message}" if sep and where else f"error: {line}"


class OperationError(UnhazzleError):
    """Git, cluster or registry trouble: exit code 1."""

    exit_code = 1


A = TypeVar("A")
B = TypeVar("B")
C = TypeVar("C")


@overload
def at_once(a: Callable[[], A], /) -> tuple[A]: ...
@overload
def at_once(a: Callable[[], A], b: Callable[[], B], /) -> tuple[A, B]: ...
@overload
def at_once(a: Callable[[], A], b: Callable[[], B], c: Callable[[], C], /) -> tuple[A, B, C]: ...
@overload
def at_once(*checks: Callable[[], Any]) -> tuple[Any, ...]: ...
def at_once(*checks: Callable[[], Any]) -> tuple[Any, ...]:
    """Every check in *checks* run, whatever an earlier one refused: their values, or one error
    with every refusal's lines. An InputError while each refusal was one (its problems stay
    located and sorted), a UsageError once any was a UsageError (lines in the checks' order)."""
    values: list[Any] = []
    located: list[Problem] = []
    lines: list[str] = []
    usage = False
    for check in checks:
        try:
            values.append(check())
        except InputError as exc:
            located += exc.problems
            lines += exc.lines()
        except UsageError as exc:
            usage = True
            lines += exc.lines()
    if usage:
        raise UsageError("\n".join(lines))
    if located:
        raise InputError(located)
    return tuple(values)
