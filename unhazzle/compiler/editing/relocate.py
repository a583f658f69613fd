"""A problem found in an edited spec, located where the user can find it. The edited text lives
only in memory until it compiles, so its line numbers would name lines no file has: a setting
the edit wrote is reported where the JSON file wrote it, any other line at its place in the spec
on disk.

Pure: texts, problems and entries in, problems out."""

from __future__ import annotations

import difflib
import sys
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from ruamel.yaml.comments import CommentedMap

from unhazzle.compiler.editing.flatjson import Entry
from unhazzle.compiler.editing.settings import SettingsEdit, round_trip_yaml
from unhazzle.compiler.spec.positions import LINE_BREAK
from unhazzle.errors import Problem


def relocate(
    problems: Sequence[Problem],
    *,
    spec: str,
    original: str,
    edit: SettingsEdit,
    path: Sequence[str],
    entries: Sequence[Entry],
) -> list[Problem]:
    """*problems* of *edit*'s text (named *spec*), each moved: one on the line of a setting the
    edit wrote, to that setting's key or value in its JSON file; one on a line the spec on disk
    has, to that line; any other (a line only the edit has, or a setting given on the command
    line) to the place in the spec on disk that the settings go under."""
    written = {e.key: e for e in entries if e.key in {*edit.added, *edit.changed} and e.key_at}
    setting_lines = _setting_lines(edit.text, path, list(written))
    kept = _kept_lines(original, edit.text)
    fallback = _parent_place(original, path)
    moved = []
    for problem in problems:
        name, value_column = _setting_at(setting_lines.get(problem.line, []), problem.column)
        entry = written.get(name) if problem.file == spec else None
        if entry is not None and entry.key_at is not None and entry.value_at is not None:
            place = entry.value_at if problem.column >= value_column else entry.key_at
            moved.append(Problem(*place, problem.message))
        elif problem.file != spec:
            moved.append(problem)
        elif problem.line in kept:
            moved.append(replace(problem, line=kept[problem.line]))
        else:
            moved.append(Problem(spec, *fallback, problem.message))
    return moved


def _kept_lines(original: str, edited: str) -> dict[int, int]:
    """Line of the edited text -> line of the original (from 1), for each line the edit kept or
    rewrote in place (a changed setting); lines it added have none."""
    old, new = LINE_BREAK.split(original), LINE_BREAK.split(edited)  # lines as the loader counts them
    kept: dict[int, int] = {}
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if tag == "equal" or (tag == "replace" and i2 - i1 == j2 - j1):
            kept.update({j + 1: i + 1 for i, j in zip(range(i1, i2), range(j1, j2), strict=True)})
    return kept


def _setting_lines(
    edited: str, path: Sequence[str], names: Sequence[str]
) -> dict[int, list[tuple[int, str, int]]]:
    """Line (from 1) -> (column of its key, setting, column where its value starts) for each of
    *names* in the edited settings, in order along the line (`env: {A: 1, B: 2}` holds two); a
    value on a line of its own starts at column 0."""
    node: Any = round_trip_yaml(edited).load(edited)
    for key in path:
        node = node.get(key) if isinstance(node, CommentedMap) else None
    found: dict[int, list[tuple[int, str, int]]] = {}
    for name in names:
        lc = _line_col(node, name)
        if lc is None:
            continue
        key_line, key_column, value_line, value_column = lc
        if value_line == key_line:
            found.setdefault(key_line + 1, []).append((key_column + 1, name, value_column + 1))
        else:
            found.setdefault(key_line + 1, []).append((key_column + 1, name, sys.maxsize))
            found.setdefault(value_line + 1, []).append((0, name, 0))
    return {line: sorted(spans) for line, spans in found.items()}


def _setting_at(spans: Sequence[tuple[int, str, int]], column: int) -> tuple[str, int]:
    """The setting a problem at *column* of its line is about: the last one starting at or
    before it (the first, for a place before them all); and where its value starts."""
    if not spans:
        return "", 0
    _, name, value_column = next((s for s in reversed(spans) if s[0] <= column), spans[0])
    return name, value_column


def _parent_place(original: str, path: Sequence[str]) -> tuple[int, int]:
    """Line and column of the deepest key of *path* the original spec has (`env:`, else the
    app's or the environment's name): where the settings go."""
    node: Any = round_trip_yaml(original).load(original)
    place = (1, 1)
    for key in path:
        lc = _line_col(node, key)
        if lc is None:
            break
        place = (lc[0] + 1, lc[1] + 1)
        node = node[key]
    return place


def _line_col(node: Any, key: str) -> list[int] | None:
    """ruamel's [key line, key column, value line, value column] (from 0) of *node*'s own *key*."""
    if not isinstance(node, CommentedMap):
        return None
    found: list[int] | None = (node.lc.data or {}).get(key)  # an empty `{}` has no data at all
    return found
