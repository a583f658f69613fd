"""Reading an environment folder's YAML: libyaml's parser, and the values built without PyYAML's
generic constructor where the document is plain.

A folder of 500 apps is 2,000 documents whose keys and most values repeat (`apiVersion`,
`metadata`, `"1"`): each distinct plain text is resolved to its tag once per folder, and each
distinct number, boolean or null built once. Mappings, sequences and strings are built by a
direct walk; the values are exactly the safe loader's (a property test holds the two together).
A document the walk does not take whole -- a merge key (`<<`), a node that contains itself, a
collection with a tag of its own (`!!set`, `!!omap`), a key that cannot be a dict key -- is built
by PyYAML's safe constructor instead, with its errors. A value whose explicit tag it cannot
build (`!!int x`, `!!timestamp never`), which PyYAML lets escape as a Python error, is a
ConstructorError at its place here, like any other YAML error.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available

_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_SCALARS = frozenset(
    f"tag:yaml.org,2002:{name}" for name in ("null", "bool", "int", "float", "timestamp", "binary")
)


# What PyYAML's scalar constructors raise, unwrapped, for a value that does not fit its tag.
_ESCAPING = (ValueError, TypeError, AttributeError, KeyError, OverflowError)


def _unreadable(node: Node, exc: Exception) -> yaml.constructor.ConstructorError:
    what = node.tag.rsplit(":", 1)[-1]
    value = f" '{node.value[:40]}'" if isinstance(node, ScalarNode) else ""
    problem = f"the value{value} cannot be read as its tag says ({what}): {type(exc).__name__}"
    return yaml.constructor.ConstructorError(None, None, problem, node.start_mark)


class Memo:
    """What one folder's documents share: plain texts' tags and built scalars."""

    def __init__(self) -> None:
        self.tags: dict[tuple[str, Any], str] = {}
        self.scalars: dict[tuple[str, str], Any] = {}


class _Loader(_Base):  # type: ignore[misc]
    def __init__(self, text: str, memo: Memo) -> None:
        super().__init__(text)
        self._memo = memo

    def resolve(self, kind: type[Node], value: Any, implicit: Any) -> str:
        """The safe loader's tag for a plain or quoted text, asked once per distinct text."""
        if kind is not ScalarNode:
            return str(super().resolve(kind, value, implicit))
        key = (value, implicit)
        tag = self._memo.tags.get(key)
        if tag is None:
            tag = self._memo.tags[key] = super().resolve(kind, value, implicit)
        return tag


class _Unusual(Exception):
    """The walk does not take this document: PyYAML's constructor builds it."""


def documents(text: str, memo: Memo) -> Iterator[tuple[int, Any]]:
    """(first line, value) of each YAML document of *text*, as yaml.safe_load_all gives them;
    PyYAML's errors (MarkedYAMLError with its place) as it raises them."""
    loader = _Loader(text, memo)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            try:
                value = _Walk(loader, memo).value(node)
            except _Unusual:
                try:
                    value = loader.construct_document(node)
                except _ESCAPING as exc:
                    raise _unreadable(node, exc) from None
            yield node.start_mark.line + 1, value
    finally:
        loader.dispose()


class _Walk:
    """One document's values. A node reached twice (an alias) gives the same object, as PyYAML
    builds it, so aliases cost nothing however they are nested."""

    def __init__(self, loader: Any, memo: Memo) -> None:
        self.loader = loader
        self.scalars = memo.scalars
        self.made: dict[int, Any] = {}
        self.open: set[int] = set()

    def value(self, node: Node) -> Any:
        if isinstance(node, ScalarNode):
            return self._scalar(node)
        key = id(node)
        if key in self.made:
            return self.made[key]
        if key in self.open:
            raise _Unusual  # a collection inside itself
        self.open.add(key)
        if isinstance(node, MappingNode) and node.tag == _MAP:
            built: Any = self._mapping(node)
        elif isinstance(node, SequenceNode) and node.tag == _SEQ:
            built = [self.value(item) for item in node.value]
        else:
            raise _Unusual
        self.open.discard(key)
        self.made[key] = built
        return built

    def _mapping(self, node: MappingNode) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not (isinstance(key_node, ScalarNode) and key_node.tag in (_STR, *_SCALARS)):
                raise _Unusual  # a merge key, a value key, or a collection as a key
            out[self._scalar(key_node)] = self.value(value_node)
        return out

    def _scalar(self, node: ScalarNode) -> Any:
        tag = node.tag
        if tag == _STR:
            return node.value
        if tag not in _SCALARS:
            raise _Unusual  # an unknown tag: the constructor says what is wrong with it
        key = (tag, node.value)
        if key in self.scalars:
            return self.scalars[key]
        try:
            built = self.loader.yaml_constructors[tag](self.loader, node)
        except _ESCAPING as exc:
            raise _unreadable(node, exc) from None
        if not isinstance(built, bytes | bool | int | float | type(None)):
            return built  # a timestamp: its own object each time, as PyYAML makes it
        self.scalars[key] = built
        return built
