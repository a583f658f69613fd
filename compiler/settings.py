"""`unhazzle env import`: plain settings merged into unhazzle.yaml by round-trip editing, so the
user's comments, key order, quoting and layout survive and only the changed lines differ.

Pure: spec text and settings in, new spec text and a report out; the caller validates and writes.
"""

from __future__ import annotations

import copy
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedBase, CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import ScalarString
from ruamel.yaml.util import load_yaml_guess_indent

from unhazzle.compiler.flatjson import Entry

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
    yaml = _yaml(text)
    root = yaml.load(text)
    path = ["apps", app, "env"] if environment is None else ["environments", environment, "apps", app, "env"]
    anchor, target = _target(root, path)
    before = _last_leaf(anchor, commented=True)
    added, changed, unchanged = [], [], []
    for entry in entries:
        if entry.key not in target:
            added.append(entry.key)
            target[entry.key] = entry.value
        elif _same(target[entry.key], entry.value):
            unchanged.append(entry.key)
        else:
            changed.append(entry.key)
            target[entry.key] = _styled_like(target[entry.key], entry.value)
    if not added and not changed:
        return SettingsEdit(text=text, added=[], changed=[], unchanged=unchanged)
    if before is not None and added:
        _move_trailing_comment(before, _last_leaf(anchor))
    out = io.StringIO()
    yaml.dump(root, out)
    return SettingsEdit(text=out.getvalue(), added=added, changed=changed, unchanged=unchanged)


def _yaml(text: str) -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap the user's long lines
    _, indent, block_seq_indent = load_yaml_guess_indent(text)
    indent = indent or 2
    block_seq_indent = block_seq_indent or 0
    yaml.indent(mapping=indent, sequence=indent + block_seq_indent, offset=block_seq_indent)
    return yaml


def _target(root: CommentedMap, path: list[str]) -> tuple[CommentedMap, CommentedMap]:
    """The deepest existing mapping on *path* (new keys are appended to it) and the mapping at
    the end of *path*, created on the way where missing."""
    node, anchor = root, root
    for key in path:
        child = node.get(key)
        if isinstance(child, CommentedMap):
            anchor = child  # once one key is created, nothing below it exists yet
        else:
            child = CommentedMap()
            node[key] = child
        if not child and child.fa.flow_style():
            child.fa.set_block_style()  # `production: {}` becomes a block to hold the new keys
        node = child
    return anchor, node


def _same(current: Any, new: str | int | float | bool) -> bool:
    if isinstance(current, bool) or isinstance(new, bool):
        return isinstance(current, bool) and isinstance(new, bool) and current == new
    if isinstance(current, str) or isinstance(new, str):
        return isinstance(current, str) and isinstance(new, str) and str(current) == new
    return isinstance(current, int | float) and float(current) == float(new) and type(new) is _kind(current)


def _kind(value: Any) -> type:
    return int if isinstance(value, int) else float


def _styled_like(current: Any, new: str | int | float | bool) -> Any:
    """A changed text value keeps the quoting the user chose for the old one."""
    if isinstance(current, ScalarString) and isinstance(new, str) and "\n" not in new:
        return type(current)(new)
    return new


def _last_leaf(node: Any, *, commented: bool = False) -> Leaf | None:
    """The deepest last item under *node* (with *commented*: the deepest that carries comment
    lines; ruamel keeps the comments after a block on the last item inside it)."""
    found: Leaf | None = None
    while isinstance(node, CommentedMap | CommentedSeq) and len(node):
        key = list(node.keys())[-1] if isinstance(node, CommentedMap) else len(node) - 1
        if not commented or _comment(node, key) is not None:
            found = (node, key)
        node = node[key]
    return found


def _slot(node: CommentedBase) -> int:
    return 2 if isinstance(node, CommentedMap) else 0


def _comment(node: CommentedBase, key: Any) -> Any:
    item = node.ca.items.get(key)
    return item[_slot(node)] if item else None


def _move_trailing_comment(old: Leaf, new: Leaf | None) -> None:
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
    item[_slot(target)] = moved
