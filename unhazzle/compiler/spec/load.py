"""Reading unhazzle.yaml: bytes -> plain data plus the position of every key and value.

Hostile files fail fast here: a size cap before parsing, strict UTF-8, a nesting cap, and a cap on
how much anchors and aliases may expand, so no input can make us slow or exhaust memory.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import ConstructorError, RoundTripConstructor, SafeConstructor
from ruamel.yaml.error import MarkedYAMLError, ReusedAnchorWarning, YAMLError
from ruamel.yaml.events import (
    AliasEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
)
from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode
from ruamel.yaml.resolver import VersionedResolver
from ruamel.yaml.scalarbool import ScalarBoolean
from ruamel.yaml.tag import Tag

from unhazzle.compiler.spec import yaml_words
from unhazzle.compiler.spec.aswritten import keep_settings_as_written
from unhazzle.compiler.spec.positions import LINE_BREAK, Path, Positions
from unhazzle.compiler.spec.read import MAX_BYTES, read_spec
from unhazzle.compiler.spec.yamlonly import yaml_only
from unhazzle.errors import InputError, Problem

# YAML lets an anchor be defined again (an alias names the latest); ruamel's round-trip parser
# says so on stderr, which is no place for it: the file is read as YAML reads it.
warnings.filterwarnings("ignore", category=ReusedAnchorWarning)

MAX_DEPTH = 40  # the spec nests 6 levels deep; anchors cannot make that 40
# Checked on the parser's events before anything is built from them (_check_nesting).
SCAN_DEPTH = 200
MAX_DIGITS = 100  # an instance count or port has a few digits; a long ID belongs in quotes
ALIAS_BUDGET = 10_000  # values reached again through aliases, beyond the first visit


@dataclass
class Document:
    """A parsed spec: plain Python data and where each piece stood in the file."""

    data: Any
    positions: Positions
    text: str
    # Problems that did not stop the reading (a key written twice: its first value is kept),
    # for validation to report with its own; only load_bytes(..., keep_going=True) leaves any.
    problems: list[Problem] = field(default_factory=list)


def load_file(path: FsPath, *, display: str | None = None, keep_going: bool = False) -> Document:
    """Read and parse *path*; every failure is an InputError located in the file."""
    return load_bytes(read_spec(path, display=display), name=display or str(path), keep_going=keep_going)


def load_bytes(raw: bytes, *, name: str, keep_going: bool = False) -> Document:
    """Parse spec bytes; see load_file. With *keep_going*, keys written twice are left in
    Document.problems for the caller to report with the rest (validation does)."""
    if len(raw) > MAX_BYTES:
        raise _error(name, 1, 1, f"file is larger than {MAX_BYTES // (1024 * 1024)} MB")
    text = _decode(raw, name)
    if "\x00" in text:
        line, col = _line_col(text, text.index("\x00"))
        raise _error(name, line, col, "file contains a NUL byte; is this a binary file?")
    _check_nesting(text, name)
    document = _fast_load(text, name)
    if document is None:
        try:
            root, duplicates = _parse_with_duplicates(text, name) if keep_going else (_parse(text, name), [])
        except _RoundTripFault:
            # ruamel fails on some valid YAML of its own (a comment before a value that goes on
            # over lines: "overlap in comment"); libyaml's parser reads it, unless it needs tags
            document = _fast_load(text, name, forced=True)
            if document is None:
                raise _error(name, 1, 1, PARSER_FAULT) from None
        else:
            positions = Positions(file=name)
            data = _Walker(positions, name, text).plain(root, ())
            document = Document(data=data, positions=positions, text=text, problems=duplicates)
    keep_settings_as_written(document.data, document.positions, text)
    return document


def _decode(raw: bytes, name: str) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        prefix = raw[: exc.start].decode("utf-8", errors="replace")
        line, col = _line_col(prefix, len(prefix))
        raise _error(
            name, line, col, f"not UTF-8 text (byte 0x{raw[exc.start]:02x}); save the file as UTF-8"
        ) from None


def _check_nesting(text: str, name: str) -> None:
    """Refuse nesting deeper than SCAN_DEPTH at the list or mapping that goes past it, before
    either parser builds anything. libyaml's events come without recursion, so they are counted:
    its composer recurses once a level and overflows the stack on a few hundred KB of `[` or
    `- - -`, and the round-trip parser slows quadratically with flow nesting. Brackets in
    quotes, comments and blocks of text are no events, so they count for nothing. A file the
    parser stops on is left to the parsers to say why, at most this deep.

    A list or mapping as a key (`? [a]`, `{{a: 1}: 1}`) is refused here too: the spec has none,
    and the round-trip parser takes time exponential in how deeply they nest (`? ? ? ... x`)."""
    # per open collection: for a mapping, whether its next node is a key; for a list, None
    keys: list[bool | None] = []
    try:
        for event in YAML(typ="safe", pure=False).parse(text):
            kind = type(event)
            if kind in _NODES and keys and keys[-1] is not None:
                keys[-1] = not keys[-1]
                if not keys[-1] and kind in _OPENS:  # it was a key's turn
                    mark = event.start_mark
                    what = "a list" if kind is SequenceStartEvent else "a mapping"
                    raise _error(name, mark.line + 1, mark.column + 1, f"a key must be a name, not {what}")
            if kind in _OPENS:
                keys.append(True if kind is MappingStartEvent else None)
                if len(keys) > SCAN_DEPTH:
                    mark = event.start_mark
                    raise _error(name, mark.line + 1, mark.column + 1, _too_deep(SCAN_DEPTH))
            elif kind in _CLOSES:
                keys.pop()
    except (YAMLError, ValueError, TypeError):
        return


_OPENS = (SequenceStartEvent, MappingStartEvent)
_CLOSES = (SequenceEndEvent, MappingEndEvent)
_NODES = (ScalarEvent, AliasEvent, SequenceStartEvent, MappingStartEvent)


def _too_deep(limit: int) -> str:
    return f"values nest too deeply (more than {limit} levels)"


class _SpecScalars:
    """What both parsers' constructors make of a spec's scalars, minus two ways a value could
    crash them: dates (a spec has none; `2024-02-30` raised) stay text, and integers are refused
    past MAX_DIGITS, before Python's own digit limit raises and before converting them costs
    quadratic time."""

    def construct_yaml_int(self, node: Any) -> Any:
        if len(node.value) > MAX_DIGITS:
            raise ConstructorError(
                problem=f"a number with {len(node.value)} digits; numbers may have at most {MAX_DIGITS}",
                problem_mark=node.start_mark,
            )
        return super().construct_yaml_int(node)  # type: ignore[misc]


class _Constructor(_SpecScalars, RoundTripConstructor):
    """The round-trip parser's constructor (the reference for data, positions and errors).

    A key written twice in one mapping is recorded, not raised (ruamel stops at the first), so
    each is reported at its own line; the mapping keeps the first value, whose position is the
    one recorded."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # line, column, message, and whether it is a block (a mapping or list), not one value
        self.duplicates: list[tuple[int, int, str, bool]] = []

    def check_mapping_key(self, node: Any, key_node: Any, mapping: Any, key: Any, value: Any) -> bool:
        if key not in mapping:
            return True
        try:
            first = f" (first on line {mapping.lc.key(key)[0] + 1})"
        except (KeyError, TypeError):
            first = ""
        written = key_node.value if isinstance(key_node, ScalarNode) else str(key)
        mark = key_node.start_mark
        said = f"key '{written}' appears twice in the same block{first}; keep one"
        block = any(isinstance(v, dict | list) for v in (value, mapping[key]))
        self.duplicates.append((mark.line + 1, mark.column + 1, said, block))
        return False


class _FastConstructor(_SpecScalars, SafeConstructor):
    """The fast path's constructor, giving the same values as _Constructor."""


for _kind in (_Constructor, _FastConstructor):
    _kind.add_constructor("tag:yaml.org,2002:int", _kind.construct_yaml_int)
    _kind.add_constructor("tag:yaml.org,2002:timestamp", _kind.construct_yaml_str)


def _parse(text: str, name: str) -> Any:
    """The document's root; a key written twice is an error."""
    root, duplicates = _parse_with_duplicates(text, name)
    if duplicates:
        raise InputError(duplicates)
    return root


SEVERAL_DOCUMENTS = "the file holds several YAML documents ('---'); keep one"


def _second_document(text: str) -> tuple[int, int]:
    """Where the file's second YAML document starts (its `---`)."""
    starts = [e.start_mark for e in YAML(typ="rt").parse(text) if isinstance(e, DocumentStartEvent)]
    return (starts[1].line + 1, starts[1].column + 1) if len(starts) > 1 else (1, 1)


def _parse_with_duplicates(text: str, name: str) -> tuple[Any, list[Problem]]:
    """The document's root, and the keys written twice with one value each (which do not stop
    it)."""
    yaml = YAML(typ="rt")
    yaml.Constructor = _Constructor
    try:
        docs = list(yaml.load_all(text))
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        plain = yaml_words.explain(text, _marks(exc))
        if plain is not None:
            raise _error(name, *plain) from None
        raise _error(name, line, col, _yaml_message(exc)) from None
    except RecursionError:  # nesting the event count did not see (it stops at libyaml's errors)
        raise _error(name, 1, 1, _too_deep(SCAN_DEPTH)) from None
    except PARSER_FAULTS:
        raise _RoundTripFault from None
    except YAMLError as exc:
        raise _error(name, 1, 1, f"not valid YAML: {exc}") from None
    except (ValueError, TypeError, OverflowError) as exc:  # a value the constructor could not build
        raise _error(name, 1, 1, f"not valid YAML: {exc}") from None
    several = len(docs) > 1
    if several and docs[0] is None:
        raise _error(name, *_second_document(text), SEVERAL_DOCUMENTS)
    if not docs or docs[0] is None:
        raise _error(name, 1, 1, "the file is empty; a spec starts with `version: 1`")
    second = _second_document(text) if several else None
    # what the first document holds (the one read as the spec: the others are not looked into)
    found = [dup for dup in yaml.constructor.duplicates if second is None or dup[:2] < second]
    duplicates = [Problem(name, line, col, said) for line, col, said, _ in found]
    if second is not None:  # the first is read as the spec, and checked with this
        duplicates.append(Problem(name, *second, SEVERAL_DOCUMENTS))
    # A block written twice hides what the second holds (two `apps:`, say): checking the rest
    # against the first alone would report mistakes that are not there, so only the duplicates
    # are said then. A value written twice does not: the first is checked with the rest.
    if any(block for *_, block in found):
        raise InputError(duplicates)
    return docs[0], duplicates


def _marks(exc: MarkedYAMLError) -> yaml_words.Marks:
    def at(mark: Any) -> tuple[int, int] | None:
        return (mark.line + 1, mark.column + 1) if mark is not None else None

    return yaml_words.Marks(
        problem=str(exc.problem or ""),
        context=str(exc.context or ""),
        problem_at=at(exc.problem_mark),
        context_at=at(exc.context_mark),
    )


def _yaml_message(exc: MarkedYAMLError) -> str:
    problem = (exc.problem or "").strip()
    if "found character '\\t'" in problem or "\\t" in problem:
        return "tab characters cannot indent YAML; use spaces"
    context = (exc.context or "").strip()
    text = f"{context}: {problem}" if context and problem else problem or context
    return f"not valid YAML: {text}" if text else "not valid YAML"


# A null written out, and a colon that ends a key (followed by a space, the line's end or, in
# a flow mapping, what ends its value)
_NULL_WORD = re.compile(r"(~|null|Null|NULL)(?![^\s,\]}#])")
_COLON = re.compile(r":(?=[\s,\]}]|$)")


def _past_quotes(line: str, at: int) -> int:
    """Where a key at *at* of *line* ends when it is quoted (after `''` within single quotes and
    escapes within double ones); *at* itself for a plain key; -1 when the quote is not closed."""
    quote = line[at : at + 1]
    if quote not in ("'", '"'):
        return at
    index = at + 1
    while index < len(line):
        char = line[index]
        if quote == '"' and char == "\\":
            index += 2
            continue
        if char == quote:
            if quote == "'" and line.startswith("'", index + 1):
                index += 2
                continue
            return index + 1
        index += 1
    return -1


class _Walker:
    """Turns ruamel's round-trip nodes into plain data while recording positions."""

    def __init__(self, positions: Positions, name: str, text: str = "") -> None:
        self.positions = positions
        self.name = name
        self.text = text
        self._lines: list[str] | None = None
        self.seen: set[int] = set()
        self.alias_budget = ALIAS_BUDGET

    def plain(self, node: Any, path: Path) -> Any:
        if len(path) > MAX_DEPTH:
            line, col = self.positions.of_value(path)
            raise _error(self.name, line, col, _too_deep(MAX_DEPTH))
        if isinstance(node, CommentedMap | CommentedSeq):
            self._count(node, path)
        if isinstance(node, CommentedMap):
            return self._mapping(node, path)
        if isinstance(node, CommentedSeq):
            return self._sequence(node, path)
        return plain_scalar(node)

    def _count(self, node: Any, path: Path) -> None:
        if id(node) not in self.seen:
            self.seen.add(id(node))
            return
        self.alias_budget -= max(1, len(node))
        if self.alias_budget < 0:
            line, col = self.positions.of_value(path)
            raise _error(
                self.name,
                line,
                col,
                f"anchors and aliases expand to too many values (more than {ALIAS_BUDGET}); write them out",
            )

    def _mapping(self, node: CommentedMap, path: Path) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        for key in node:
            pos = _pos_in_map(node, key)
            if not _plain_key(key):
                line, col = (pos[0] + 1, pos[1] + 1) if pos else self.positions.of_value(path)
                kind = "a list" if isinstance(key, tuple | list) else "a mapping"
                raise _error(self.name, line, col, f"a key must be a name, not {kind}")
            sub = (*path, _key(key))
            if pos is not None:
                self.positions.keys[sub] = (pos[0] + 1, pos[1] + 1)
                empty = self._empty_value(pos) if node[key] is None else None
                self.positions.values[sub] = empty or (pos[2] + 1, pos[3] + 1)
            out[_key(key)] = self.plain(node[key], sub)
        return out

    def _empty_value(self, pos: tuple[int, int, int, int]) -> tuple[int, int] | None:
        """Where a key with nothing after it (`project:`) has its value: just after its colon.
        (ruamel places an empty value at the next token, lines further down, or past the end.)
        None when the value is written (`~`, `null`) or the colon is not on the key's line."""
        if self._lines is None:
            self._lines = LINE_BREAK.split(self.text)
        key_line, key_col, value_line, value_col = pos
        if value_line < len(self._lines) and _NULL_WORD.match(self._lines[value_line], value_col):
            return None
        line = self._lines[key_line] if key_line < len(self._lines) else ""
        start = _past_quotes(line, key_col)  # a quoted key: its colon comes after the quote
        colon = _COLON.search(line, start) if start >= 0 else None
        if colon:
            return key_line + 1, colon.end() + 1
        # an explicit key (`? key`): its colon starts a line of its own below
        for number in range(key_line + 1, min(value_line + 1, len(self._lines))):
            found = re.match(r"\s*:(?=\s|$)", self._lines[number])
            if found:
                return number + 1, found.end() + 1
        return None

    def _sequence(self, node: CommentedSeq, path: Path) -> list[Any]:
        out: list[Any] = []
        for index, item in enumerate(node):
            sub = (*path, index)
            try:
                line, col = node.lc.item(index)
                self.positions.values[sub] = (line + 1, col + 1)
            except (KeyError, TypeError, IndexError):
                pass
            out.append(self.plain(item, sub))
        return out


def _pos_in_map(node: CommentedMap, key: Any, depth: int = 0) -> tuple[int, int, int, int] | None:
    try:
        kline, kcol = node.lc.key(key)
        vline, vcol = node.lc.value(key)
    except (KeyError, TypeError):
        # a key merged in through '<<' stands where the mapping it came from writes it (the first
        # that has it, as the merge takes it); the depth stops a merge that includes itself
        sources = (getattr(node, "merge", None) or ()) if depth < MAX_DEPTH else ()
        for source in sources:
            if isinstance(source, CommentedMap) and key in source:
                return _pos_in_map(source, key, depth + 1)
        return None
    return kline, kcol, vline, vcol


def _plain_key(key: Any) -> bool:
    return key is None or isinstance(key, str | int | float | bool)


def _key(key: Any) -> Any:
    """Keys stay as written; a non-string key is reported by validation, not here."""
    return plain_scalar(key) if not isinstance(key, str) else str(key)


def plain_scalar(value: Any) -> Any:
    """*value* as a plain Python type: ruamel wraps scalars in str/int/float subclasses that keep
    their formatting; plain types make equality, hashing and pydantic's strict checks behave."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, ScalarBoolean):  # an anchored true/false: an int subclass, 1 or 0
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    # binary data and sets: kept as such, for validation to refuse; timestamps and other tags
    # become text, and validation says if that is wrong
    return yaml_only(value) or str(value)


def _line_col(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of *offset*, with lines broken where the parsers break them."""
    line, start = 1, 0
    for found in LINE_BREAK.finditer(text, 0, offset):
        line, start = line + 1, found.end()
    return line, offset - start + 1


def _error(name: str, line: int, col: int, message: str) -> InputError:
    return InputError([Problem(name, line, col, message)])


# Features the fast path leaves to the round-trip parser, whose handling (and error wording) is
# the reference: explicit tags, merge keys and directives.
_SLOW_MARKS = ("!", "<<", "%YAML", "%TAG")


class _Fallback(Exception):
    """The fast path met something it leaves to the round-trip parser."""


# What ruamel's round-trip parser raises on inputs it has no words for (a comment it cannot
# place, a mapping that merges itself): not a crash of ours, and not the user's fault to see.
PARSER_FAULTS = (NotImplementedError, AttributeError, KeyError, IndexError)


class _RoundTripFault(Exception):
    """The round-trip parser failed on the file in a way of its own (PARSER_FAULTS)."""


PARSER_FAULT = (
    "the YAML parser cannot read this file as it is written (a mapping that merges itself with "
    "`<<`, or a comment inside a value that goes on over lines); write it more plainly"
)


def _fast_load(text: str, name: str, *, forced: bool = False) -> Document | None:
    """The same data and positions as the round-trip parser, from libyaml's composer (about ten
    times faster, which keeps `preview` of a 100-app spec well under a second); None when the
    text needs the round-trip parser: any YAML error, duplicate key, tag, merge key or directive."""
    if not forced and any(mark in text for mark in _SLOW_MARKS):
        return None
    yaml = YAML(typ="safe", pure=False)
    yaml.Resolver = _Resolver
    yaml.Constructor = _FastConstructor
    try:
        root = yaml.compose(text)
        positions = Positions(file=name)
        data = _NodeWalker(positions, name, yaml.constructor).plain(root, ())
    except (YAMLError, _Fallback, RecursionError, ValueError, TypeError):
        return None
    return Document(data=data, positions=positions, text=text)


STR_TAG = "tag:yaml.org,2002:str"


class _Resolver(VersionedResolver):
    """ruamel's YAML 1.2 resolver, same answers, faster: the version is looked up once (the fast
    path declines %YAML directives) and the tables are not extended on every scalar."""

    @property
    def versioned_resolver(self) -> Any:
        cached = self.__dict__.get("_tables")
        if cached is None:
            cached = self.__dict__["_tables"] = VersionedResolver.versioned_resolver.fget(self)  # type: ignore[attr-defined]
        return cached

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is not ScalarNode or self.yaml_path_resolvers:
            return super().resolve(kind, value, implicit)
        if not implicit[0]:  # quoted or block: a string, as the base class says
            return self.DEFAULT_SCALAR_TAG
        # Keys and many values repeat (`image`, `port`, `info`): each text is resolved once, and
        # its nodes share the tag (as the base class's nodes share DEFAULT_SCALAR_TAG).
        memo: dict[str, Tag] = self.__dict__.setdefault("_memo", {})
        tag = memo.get(value)
        if tag is None:
            tag = memo[value] = self._plain_tag(value)
        return tag

    def _plain_tag(self, value: str) -> Tag:
        tables = self.versioned_resolver
        for suffix, regexp in (*tables.get(value[:1], ()), *tables.get(None, ())):
            if regexp.match(value):
                return Tag(suffix=suffix)
        return self.DEFAULT_SCALAR_TAG


class _NodeWalker(_Walker):
    """Like _Walker, over composed nodes (libyaml) instead of round-trip containers."""

    def __init__(self, positions: Positions, name: str, constructor: Any) -> None:
        super().__init__(positions, name)
        self.constructor = constructor
        self.typed: dict[tuple[str, str], Any] = {}

    def plain(self, node: Any, path: Path) -> Any:
        if node is None:
            return None
        if len(path) > MAX_DEPTH:
            raise _Fallback  # the round-trip path reports it, located
        if isinstance(node, ScalarNode):  # most nodes: checked first
            if node.value == "" and not node.style:  # plain (libyaml says "", not None)
                raise _Fallback  # the round-trip path places an empty value differently
            # ctag, not node.tag, which writes the tag's text anew on every call (a tenth of
            # loading a large spec); the fast path declines tags, so no node has a handle
            tag = node.ctag
            if tag.handle is None and tag.suffix == STR_TAG:
                return str(node.value)  # most scalars: no need to go through the constructor
            return self._typed(node, tag.suffix)
        if isinstance(node, MappingNode):
            self._count(node.value, path)
            return self._node_mapping(node, path)
        if isinstance(node, SequenceNode):
            self._count(node.value, path)
            values = self.positions.values  # (positions written inline: the hot path of a load)
            out = []
            for i, item in enumerate(node.value):
                sub = (*path, i)
                mark = item.start_mark
                values[sub] = (mark.line + 1, mark.column + 1)
                out.append(self.plain(item, sub))
            return out
        raise _Fallback

    def _typed(self, node: ScalarNode, suffix: str) -> Any:
        """A plain scalar of another type (a number, true, null): its value, which cannot change,
        so each text is constructed once (a large spec repeats `port: 8080` hundreds of times).
        (Quoted and block scalars are strings: only a plain one gets here.)"""
        key = (suffix, node.value)
        if key not in self.typed:
            self.typed[key] = plain_scalar(self.constructor.construct_object(node, deep=True))
        return self.typed[key]

    def _node_mapping(self, node: MappingNode, path: Path) -> dict[Any, Any]:
        keys, values = self.positions.keys, self.positions.values
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                raise _Fallback
            key = _key(self.plain(key_node, path))
            if key in out:
                raise _Fallback  # a duplicate key: the round-trip path words the error
            sub = (*path, key)
            mark = key_node.start_mark
            keys[sub] = (mark.line + 1, mark.column + 1)
            mark = value_node.start_mark
            values[sub] = (mark.line + 1, mark.column + 1)
            out[key] = self.plain(value_node, sub)
        return out
