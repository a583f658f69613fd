"""Reading a flat JSON object (`{"NAME": value, ...}`) with the line and column of every key and
value, for `env import` and `secrets import`. Python's json parser reads each value; this module
only walks the top-level object, so it knows where each piece stood.

Errors never quote a value: the file may hold secrets.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from unhazzle.compiler.spec.model import ENV_VAR_RE, NUL
from unhazzle.errors import InputError, Problem
from unhazzle.shared.readlimit import read_at_most

MAX_BYTES = 1024 * 1024  # the cluster holds at most 1 MiB of secrets per app; settings are smaller
WHITESPACE = re.compile(r"[ \t\n\r]*")
NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?")
ENV_VAR = re.compile(ENV_VAR_RE)


Place = tuple[str, int, int]  # file, line, column


@dataclass(frozen=True)
class Entry:
    """One key and its value; *text* is the value as the app will see it (numbers as written).
    *key_at* and *value_at* say where the file wrote them, so a problem the edited spec finds in
    a value is reported there (None for a value given on the command line)."""

    key: str
    value: str | int | float | bool
    text: str
    key_at: Place | None = None
    value_at: Place | None = None


def read_flat_json(path: Path, *, display: str | None = None) -> list[Entry]:
    name = display or str(path)
    try:
        raw = read_at_most(path, MAX_BYTES)
    except FileNotFoundError:
        raise InputError([Problem(name, 1, 1, "no such file")]) from None
    except OSError as exc:
        raise InputError([Problem(name, 1, 1, f"cannot read the file: {exc.strerror}")]) from None
    return parse_flat_json(raw, name=name)


def parse_flat_json(raw: bytes, *, name: str) -> list[Entry]:
    """Every entry of the object in *raw*, or an InputError listing every problem: invalid
    names, duplicate keys, values that are objects, arrays or null."""
    if len(raw) > MAX_BYTES:
        raise InputError([Problem(name, 1, 1, f"file is larger than {MAX_BYTES // 1024} KiB")])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            [Problem(name, 1, 1, f"not UTF-8 text (at byte {exc.start}); save it as UTF-8")]
        ) from None
    reader = _Reader(text, name)
    try:
        entries = reader.read()
    except json.JSONDecodeError as exc:
        said = f"not valid JSON: {_said(exc.msg)}"
        raise InputError([Problem(name, exc.lineno, exc.colno, said)]) from None
    except RecursionError:
        raise InputError([Problem(name, 1, 1, "values nest too deeply")]) from None
    if reader.problems:
        raise InputError(reader.problems)
    return entries


# Python's words for a JSON mistake (some end where it would add a position, given apart here)
_JSON_WORDS = {
    "Unterminated string starting at": 'a text that is never closed: its closing " is missing',
    "Expecting value": "a value is missing here: text in double quotes, a number, true or false",
    "Expecting property name enclosed in double quotes": "a name in double quotes is missing here "
    "(JSON has no comments and no comma after the last entry)",
    "Expecting ',' delimiter": "a ',' is missing here, between two entries",
    "Expecting ':' delimiter": "a ':' is missing here, between a name and its value",
    "Extra data": "more after the end of the object; a file holds one object",
    "Invalid control character at": "a tab or line break inside a text; write it as \\t or \\n",
    "Invalid \\escape": "an unknown escape in a text; write a backslash as \\\\",
    "Invalid \\uXXXX escape": "a \\u escape without four hex digits",
}


def _said(message: str) -> str:
    return _JSON_WORDS.get(message, message)


class _Reader:
    def __init__(self, text: str, name: str) -> None:
        self.text = text
        self.name = name
        self.pos = 0
        self.problems: list[Problem] = []
        self.decoder = json.JSONDecoder(
            parse_constant=self._constant, parse_int=_integer, parse_float=_fraction
        )

    def _constant(self, name: str) -> object:
        raise json.JSONDecodeError(f"{name} is not a JSON value", self.text, self.pos)

    def where(self, pos: int) -> tuple[int, int]:
        line = self.text.count("\n", 0, pos) + 1
        return line, pos - (self.text.rfind("\n", 0, pos) + 1) + 1

    def fail(self, pos: int, message: str) -> None:
        self.problems.append(Problem(self.name, *self.where(pos), message))

    def skip(self) -> None:
        match = WHITESPACE.match(self.text, self.pos)
        self.pos = match.end() if match else self.pos

    def expect(self, char: str, message: str) -> None:
        self.skip()
        if not self.text.startswith(char, self.pos):
            raise json.JSONDecodeError(message, self.text, self.pos)
        self.pos += 1

    def read(self) -> list[Entry]:
        self.expect("{", 'expected an object: {"NAME": "value", ...}')
        entries: list[Entry] = []
        seen: dict[str, int] = {}
        self.skip()
        if self.text.startswith("}", self.pos):
            self.pos += 1
        else:
            while True:
                entry = self.entry(seen)
                if entry is not None:
                    entries.append(entry)
                self.skip()
                if self.text.startswith("}", self.pos):
                    self.pos += 1
                    break
                self.expect(",", "expected ',' or '}' after a value")
        self.skip()
        if self.pos != len(self.text):
            raise json.JSONDecodeError("extra data after the object", self.text, self.pos)
        return entries

    def entry(self, seen: dict[str, int]) -> Entry | None:
        self.skip()
        key_pos = self.pos
        if not self.text.startswith('"', self.pos):
            raise json.JSONDecodeError("expected a name in double quotes", self.text, self.pos)
        key, self.pos = self.decoder.raw_decode(self.text, self.pos)
        self.expect(":", "expected ':' after a name")
        self.skip()
        value_pos = self.pos
        value, self.pos = self.decoder.raw_decode(self.text, self.pos)
        raw = self.text[value_pos : self.pos]
        return self.check(key, key_pos, value, raw, value_pos, seen)

    def check(
        self, key: str, key_pos: int, value: object, raw: str, value_pos: int, seen: dict[str, int]
    ) -> Entry | None:
        shown = key if len(key) <= 60 and key.isprintable() else f"{key[:60]!r}..."
        ok = True
        if key in seen:
            self.fail(key_pos, f"'{shown}' appears twice (first on line {seen[key]})")
            ok = False
        seen.setdefault(key, self.where(key_pos)[0])
        if not ENV_VAR.match(key) or len(key) > 128:
            self.fail(
                key_pos,
                f"'{shown}' is not a valid name: use letters, digits and '_', not starting with a digit",
            )
            ok = False
        if value is None or isinstance(value, dict | list):
            kind = "null" if value is None else ("an object" if isinstance(value, dict) else "an array")
            self.fail(value_pos, f"'{shown}': the value is {kind}; give text, a number or true/false")
            ok = False
        if isinstance(value, _Digits):
            digits = sum(ch.isdigit() for ch in value)
            self.fail(value_pos, f"'{shown}': a number with {digits} digits; write it in quotes, as text")
            ok = False
        if _unpaired_surrogate(key) or (isinstance(value, str) and _unpaired_surrogate(value)):
            self.fail(value_pos, f"'{shown}': holds an unpaired \\u escape (half a character)")
            ok = False
        if isinstance(value, str) and "\x00" in value:  # a setting or secret: both reach a program
            self.fail(value_pos, f"'{shown}': {NUL}")
            ok = False
        if not ok:
            return None
        assert isinstance(value, str | int | float | bool)
        text = (
            value
            if isinstance(value, str)
            else ("true" if value is True else "false" if value is False else raw)
        )
        return Entry(
            key=key,
            value=value,
            text=text,
            key_at=(self.name, *self.where(key_pos)),
            value_at=(self.name, *self.where(value_pos)),
        )


class _Digits(str):
    """A number longer than Python's int() reads (4,300 digits): reported, not a crash; a
    fraction as long is refused alike."""


MAX_DIGITS = 4300


def _fraction(text: str) -> float | _Digits:
    return _Digits(text) if sum(ch.isdigit() for ch in text) > MAX_DIGITS else float(text)


def _integer(text: str) -> int | _Digits:
    try:
        return int(text)
    except ValueError:
        return _Digits(text)


def _unpaired_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
