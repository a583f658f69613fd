"""`unhazzle env import`: plain settings merged into unhazzle.yaml by round-trip editing, so the
user's comments, key order, quoting and layout survive and only the changed lines differ.

Pure: spec text and settings in, new spec text and a report out; the caller validates and writes.
"""

from __future__ import annotations

import copy
import difflib
import io
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedBase, CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, ScalarString, SingleQuotedScalarString

from unhazzle.compiler.editing.aliases import merge_sources, own_path, own_value
from unhazzle.compiler.editing.flatjson import Entry
from unhazzle.compiler.spec.aswritten import written_text
from unhazzle.compiler.spec.load import MAX_DIGITS, plain_scalar
from unhazzle.compiler.spec.positions import LINE_BREAK

Leaf = tuple[CommentedBase, Any]  # a container and the key or index of its item


@dataclass(frozen=True)
class SettingsEdit:
    """The edited spec text and which setting names were added, changed or already so."""

    text: str
    added: list[str]
    changed: list[str]
    unchanged: list[str]


def merge_settings(text: str, entries: Sequence[Entry], *, app: str, environment: str | None) -> SettingsEdit:
    """*entries* written into `apps.APP.env`, or `environments.ENV.apps.APP.env` when
    *environment* is given (creating that override). The spec must already be valid."""
    yaml = round_trip_yaml(text)
    root = yaml.load(text)
    path = settings_path(app, environment)
    current = _existing(root, path)
    now = _app_texts(current, [e.key for e in entries], LINE_BREAK.split(text))
    if all(e.key in now and now[e.key] == _text(_written(e)) for e in entries):
        return SettingsEdit(text=text, added=[], changed=[], unchanged=[e.key for e in entries])
    own_path(root, path)  # an app whose env is an alias (`env: *common`) gets a copy of its own
    anchor = _anchor(root, path)
    before = last_leaf(anchor, commented=True)
    target = _target(root, path)
    added, changed, unchanged = [], [], []
    for entry in entries:
        value = _written(entry)
        if entry.key not in target:
            added.append(entry.key)
            target[entry.key] = _safe(value)
        elif now.get(entry.key) == _text(value):
            unchanged.append(entry.key)
        else:
            own_value(root, (*path, entry.key))  # `B: &b True` that `B: *b` elsewhere uses
            changed.append(entry.key)
            old = target[entry.key]
            if not isinstance(old, str) and type(old) is type(value) and old == value:
                # `True` to true, `+1` to 1: the same to YAML, so the splice below would keep
                # the old line; quoted, the new text is written (and is the app's text all the same)
                value = SingleQuotedScalarString(_text(value))
            target[entry.key] = _safe(_styled_like(old, value))
    if before is not None and added:
        move_trailing_comment(before, last_leaf(anchor))
    edited = dump(yaml, root)
    spliced = splice(text, dump(yaml, yaml.load(text)), edited)
    if yaml.load(spliced) != yaml.load(edited):  # never trade correctness for looks
        spliced = edited
    return SettingsEdit(text=spliced, added=added, changed=changed, unchanged=unchanged)


def remove_settings(text: str, names: Sequence[str], *, app: str, environment: str | None) -> SettingsEdit:
    """*names* taken out of `apps.APP.env` (or the environment's override of it), the rest of the
    file as it was; `changed` lists those removed, `unchanged` those that were not there."""
    yaml = round_trip_yaml(text)
    root = yaml.load(text)
    path = settings_path(app, environment)
    current = _existing(root, path)
    removed = [name for name in names if name in current]
    if not removed:
        return SettingsEdit(text=text, added=[], changed=[], unchanged=list(names))
    # a name that came through `<<: *x` (alone, or under one the place writes itself) stays
    # unless the place stops merging: it then holds every key itself, and the name goes
    own = set(_keys(current))
    merged = (
        {key for source in merge_sources(current) for key in source}
        if isinstance(current, CommentedMap)
        else set()
    )
    own_path(root, path, unmerged=any(name not in own or name in merged for name in removed))
    target = _existing(root, path)
    for name in removed:
        last = _keys(target)[-1]
        token = _comment(target, name)
        del target[name]
        if name == last and token is not None and _keys(target):
            # comment lines after the block rode on its last key: they stay, on the new last one
            _, newline, rest = token.value.partition("\n")
            if newline and rest:
                new_last = _keys(target)[-1]
                item = target.ca.items.setdefault(new_last, [None, None, None, None])
                if item[_slot(target)] is not None:  # its own end-of-line comment stays first
                    item[_slot(target)].value = item[_slot(target)].value.rstrip("\n") + "\n" + rest
                else:
                    keep = copy.copy(token)
                    keep.value = "\n" + rest
                    item[_slot(target)] = keep
    edited = dump(yaml, root)
    spliced = splice(text, dump(yaml, yaml.load(text)), edited)
    if yaml.load(spliced) != yaml.load(edited):
        spliced = edited
    return SettingsEdit(
        text=spliced, added=[], changed=removed, unchanged=[n for n in names if n not in removed]
    )


def settings_path(app: str, environment: str | None) -> list[str]:
    """Where the settings of *app* are written: its own env, or an environment's change of it."""
    return ["apps", app, "env"] if environment is None else ["environments", environment, "apps", app, "env"]


def dump(yaml: YAML, root: Any) -> str:
    out = io.StringIO()
    yaml.dump(root, out)
    return out.getvalue()


def splice(original: str, normalized: str, edited: str) -> str:
    """*edited*, but with every line it did not change taken from *original* as the user wrote
    it: ruamel re-spaces `key:   value`, drops trailing blanks and line-end style; we do not.

    *normalized* is ruamel's dump of the unchanged *original*; when the two have the same lines
    one to one (the usual case), lines equal in *normalized* and *edited* come from *original*."""
    old = original.splitlines(keepends=True)
    base = normalized.splitlines(keepends=True)
    new = edited.splitlines(keepends=True)
    eol = "\r\n" if "\r\n" in original else "\n"
    if len(old) != len(base):
        return edited.replace("\n", eol) if eol != "\n" else edited
    out: list[str] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, base, new, autojunk=False).get_opcodes():
        out += old[i1:i2] if tag == "equal" else [line.rstrip("\r\n") + eol for line in new[j1:j2]]
    lines = [line if line.endswith("\n") else line + eol for line in out[:-1]] + out[-1:]
    return "".join(lines)


def round_trip_yaml(text: str) -> YAML:
    """A YAML that writes *text* back as its author laid it out (indents, quotes, long lines)."""
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap the user's long lines
    yaml.explicit_start = bool(re.match(r"(?:\s*#[^\n]*\n|\s*\n)*---(?:\s|$)", text))
    mapping, offset = guess_indent(text)
    yaml.indent(mapping=mapping, sequence=offset + 2, offset=offset)
    return yaml


BLOCK_KEY = re.compile(r"^( *)(?:- +)?[^\s#-][^#]*:\s*(?:#.*)?$")
CONTENT = re.compile(r"^( *)(\S)")


def guess_indent(text: str) -> tuple[int, int]:
    """(mapping indent, dash offset) as the file writes them: the first nested mapping and the
    first block list under a key decide (ruamel can keep only one of each per file)."""
    mapping = offset = None
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    for line, following in itertools.pairwise(lines):
        key, child = BLOCK_KEY.match(line), CONTENT.match(following)
        if not key or not child:
            continue
        step = (
            len(child.group(1)) - len(key.group(1)) - (len(line) - len(line.lstrip(" -")) - len(key.group(1)))
        )
        if child.group(2) == "-" and offset is None and step >= 0:
            offset = step
        elif child.group(2) != "-" and mapping is None and step > 0:
            mapping = step
    return mapping or 2, offset if offset is not None else 0


def _existing(root: CommentedMap, path: list[str]) -> CommentedMap:
    """The mapping at *path*, or an empty one where there is none (nothing is created)."""
    node: Any = root
    for key in path:
        node = node.get(key) if isinstance(node, CommentedMap) else None
    return node if isinstance(node, CommentedMap) else CommentedMap()


def _anchor(root: CommentedMap, path: list[str]) -> CommentedMap:
    """The deepest mapping on *path* that exists: new keys are appended to it."""
    node = root
    for key in path:
        child = node.get(key)
        if not isinstance(child, CommentedMap):
            break
        node = child
    return node


def _target(root: CommentedMap, path: list[str]) -> CommentedMap:
    """The mapping at the end of *path*, created on the way where missing."""
    node = root
    for key in path:
        child = node.get(key)
        if not isinstance(child, CommentedMap):
            child = CommentedMap()
            node[key] = child
        if not child and child.fa.flow_style():
            child.fa.set_block_style()  # `production: {}` becomes a block to hold the new keys
        node = child
    return node


PLAIN_INTEGER = re.compile(r"-?[1-9][0-9]*|0")


def _written(entry: Entry) -> str | int | bool:
    """What the spec gets for *entry*: settings reach the app exactly as written, as secrets do.
    A JSON number is written as its own text, quoted, so that it is that text to any YAML reader
    (YAML alone reads `1.50` as 1.5, `1E+5` as 100000.0, `1e999` as inf), unless it is an
    integer that reads back digit for digit (not `-0`, nor longer than the spec allows a number
    to be)."""
    if isinstance(entry.value, bool | str):
        return entry.value
    if PLAIN_INTEGER.fullmatch(entry.text) and len(entry.text) <= MAX_DIGITS:
        return int(entry.text)
    quoted: str = SingleQuotedScalarString(entry.text)
    return quoted


def _app_texts(node: CommentedMap, keys: list[str], lines: list[str]) -> dict[str, str]:
    """The text the app gets for each of *keys* that *node* holds: a string's own, or a plain
    number's or true/false's as written (`True` stays `True`, `1.10` stays `1.10`). A value whose
    text cannot be read at its place (an alias, a merged key, a tag) is left out: changed."""
    texts: dict[str, str] = {}
    for key in keys:
        value = node.get(key)
        if isinstance(value, str):
            texts[key] = str(value)
        elif isinstance(value, bool | int | float):
            try:
                line, column = node.lc.value(key)
            except (KeyError, AttributeError, TypeError):
                continue
            written = written_text(lines, (line + 1, column + 1), plain_scalar(value))
            if written is not None:
                texts[key] = written
    return texts


def _text(new: str | int | bool) -> str:
    """The text the app gets for a value env import writes."""
    return ("true" if new else "false") if isinstance(new, bool) else str(new)


def _styled_like(current: Any, new: str | int | bool) -> Any:
    """A changed text value keeps the quoting the user chose for the old one."""
    if isinstance(current, ScalarString) and isinstance(new, str) and "\n" not in new:
        return type(current)(new)
    return new


def _safe(value: Any) -> Any:
    """Text with line breaks or invisible characters is written double-quoted, where YAML
    escapes them (\\n, \\N, \\t): in other styles a reader would fold or drop them."""
    if isinstance(value, str) and not all(ch.isprintable() or ch == " " for ch in value):
        return DoubleQuotedScalarString(value)
    return value


def last_leaf(node: Any, *, commented: bool = False) -> Leaf | None:
    """The deepest last item under *node* (with *commented*: the deepest that carries comment
    lines; ruamel keeps the comments after a block on the last item inside it)."""
    found: Leaf | None = None
    while keys := _keys(node):
        key = keys[-1]
        if not commented or _comment(node, key) is not None:
            found = (node, key)
        node = node[key]
    return found


def _keys(node: Any) -> list[Any]:
    """The keys (or indexes) of the items *node* writes itself, none for a scalar: keys that
    came through `<<: *x` are written where x is."""
    if isinstance(node, CommentedMap):
        return [key for key, _ in node.non_merged_items()]
    return list(range(len(node))) if isinstance(node, CommentedSeq) else []


def _slot(node: CommentedBase) -> int:
    return 2 if isinstance(node, CommentedMap) else 0


def _comment(node: CommentedBase, key: Any) -> Any:
    item = node.ca.items.get(key)
    return item[_slot(node)] if item else None


def move_trailing_comment(old: Leaf, new: Leaf | None) -> None:
    """Comment lines after the old last item belong to what follows the block (the next
    section's heading), so they move below the appended keys; its end-of-line comment stays."""
    node, key = old
    token = _comment(node, key)
    head, newline, rest = token.value.partition("\n")
    if not newline or not rest or new is None or new == old:
        return
    token.value = head + "\n"
    moved = copy.copy(token)
    moved.value = "\n" + rest
    target, target_key = new
    item = target.ca.items.setdefault(target_key, [None, None, None, None])
    own = item[_slot(target)]
    if own is not None:  # the new last item's own end-of-line comment stays
        moved = own
        moved.value = own.value.rstrip("\n") + "\n" + rest
    item[_slot(target)] = moved
