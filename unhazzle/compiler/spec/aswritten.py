"""Settings written as plain numbers or true/false keep the text they were written with.

YAML reads `VERSION: 1.10` as the number 1.1, `MODE: 0o17` as 15, `ZIP: 007` as 7; an app's
settings are text, and the spec's promise is that each reaches the app exactly as written
(docs/spec.md, Settings). So after parsing, each such value is replaced by its own text, read
from the file at the value's place (an alias's value is read at its anchor). A value with no
place of its own (merged in through `<<`) or with an explicit tag keeps YAML's value, spelled as
before: the text at its place is then not the scalar itself, which the check below sees.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from functools import cache
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError
from ruamel.yaml.nodes import ScalarNode

from unhazzle.compiler.spec.positions import LINE_BREAK, Path, Positions

# Where settings are: the project's, an environment's, and each app's and job's, in the base and
# in an environment's changes (None stands for any name).
SETTINGS_AT: tuple[tuple[str | None, ...], ...] = (
    ("env",),
    ("apps", None, "env"),
    ("jobs", None, "env"),
    ("environments", None, "env"),
    ("environments", None, "apps", None, "env"),
    ("environments", None, "jobs", None, "env"),
)
# A plain number or true/false holds none of these; they end it in a line or a flow mapping.
_END = re.compile(r"[\s,\]}]")
_ANCHOR = re.compile(r"^&[^\s,\[\]{}]+\s+")  # `&name 1.10`: the value's place is its anchor's


def keep_settings_as_written(data: Any, positions: Positions, text: str) -> None:
    """Replace, in *data*, each setting YAML read as a number or true/false by its text."""
    lines: list[str] | None = None
    for where, settings in _settings(data):
        for name, value in settings.items():
            if isinstance(value, str) or not isinstance(value, bool | int | float):
                continue  # text already; null, lists and mappings are for validation to refuse
            place = positions.values.get((*where, name))
            if place is None:
                continue
            if lines is None:
                lines = LINE_BREAK.split(text)
            written = written_text(lines, place, value)
            if written is not None:
                settings[name] = written


def written_text(lines: list[str], place: tuple[int, int], value: bool | int | float) -> str | None:
    """The text of the plain scalar at *place* (1-based, in *lines* split at LINE_BREAK) when it
    is what YAML read as *value*; None when the place holds something else (an alias, a tag)."""
    written = _token(lines, place)
    return written if written is not None and _same(_read(written), value) else None


def _settings(data: Any) -> Iterator[tuple[Path, dict[Any, Any]]]:
    for pattern in SETTINGS_AT:
        yield from _walk(data, pattern, ())


def _walk(node: Any, pattern: tuple[str | None, ...], path: Path) -> Iterator[tuple[Path, dict[Any, Any]]]:
    if not isinstance(node, dict):
        return
    if not pattern:
        yield path, node
        return
    step, rest = pattern[0], pattern[1:]
    if step is None:
        for key, child in node.items():
            yield from _walk(child, rest, (*path, key))
    elif step in node:
        yield from _walk(node[step], rest, (*path, step))


def _token(lines: list[str], place: tuple[int, int]) -> str | None:
    line, column = place
    if not 1 <= line <= len(lines):
        return None
    rest = _ANCHOR.sub("", lines[line - 1][column - 1 :], count=1)
    end = _END.search(rest)
    return rest[: end.start()] if end else rest or None


@cache
def _read(token: str) -> Any:
    """What YAML (1.2, as the spec is read) makes of *token* as a plain scalar alone: resolved
    and constructed directly, a tenth of the cost of parsing it (a large spec has thousands)."""
    yaml = _yaml()
    try:
        tag = yaml.resolver.resolve(ScalarNode, token, (True, False))
        return yaml.constructor.construct_object(ScalarNode(tag, token), deep=True)
    except (YAMLError, ValueError, IndexError, TypeError):  # ruamel lets some errors through
        return token


@cache
def _yaml() -> YAML:
    return YAML(typ="safe", pure=True)


def _same(read: Any, value: Any) -> bool:
    if type(read) is not type(value):
        return False
    if isinstance(value, float) and math.isnan(value):
        return math.isnan(read)
    return bool(read == value)
