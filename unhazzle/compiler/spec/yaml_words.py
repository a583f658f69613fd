"""YAML syntax errors in the words of someone who wrote a spec, at the line where the mistake is.

The parser reports where it got stuck, in its own terms ("expected <block end>, but found
'<block mapping start>'", "mapping values are not allowed here", "found unexpected end of stream"
at the end of the file). Most such mistakes are one line indented differently from its
neighbours, a quote or bracket never closed, or a key without its colon; this finds which, from
the text around the parser's marks. Pure: the text and the parser's marks in, (line, column,
message) out; None when the mistake is none of these (the parser's words are kept then).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from unhazzle.compiler.spec.positions import LINE_BREAK

_KEY = re.compile(r"^(?P<indent> *)(?:- +)?(?P<key>[^\s#:][^:#]*?)\s*:(?:\s+(?P<value>\S.*))?$")


@dataclass(frozen=True)
class Marks:
    """What the parser said: its problem and context, and where (1-based; None: not given)."""

    problem: str
    context: str
    problem_at: tuple[int, int] | None
    context_at: tuple[int, int] | None


def explain(text: str, marks: Marks) -> tuple[int, int, str] | None:
    lines = LINE_BREAK.split(text)  # numbered as the parser numbers them
    problem, context = marks.problem, marks.context
    if marks.context_at and "quoted scalar" in context and "end of stream" in problem:
        line, col = marks.context_at
        return line, col, "a quote opened here is never closed; end the value with the same quote"
    if marks.context_at and "flow mapping" in context:
        return (*marks.context_at, NOT_CLOSED["{"])
    if marks.context_at and "flow sequence" in context:
        return (*marks.context_at, NOT_CLOSED["["])
    if "flow node" in context and "<stream end>" in problem:
        # The file ended where a value of a '[' or '{' was due ("a: [" as its last line): the
        # parser names no bracket, so the one never closed is found in the text.
        opened = _unclosed(text)
        if opened is not None:
            return opened[0], opened[1], NOT_CLOSED[opened[2]]
    if marks.context_at and "simple key" in context and "expected ':'" in problem:
        line, col = marks.context_at
        return line, col, "this line has no ':' after its key; write key: value"
    if marks.problem_at and (
        "expected <block end>" in problem or "mapping values are not allowed" in problem
    ):
        return _indentation(lines, marks.problem_at, problem)
    return None


NOT_CLOSED = {
    "{": "the '{' opened here is not closed with '}', or a ',' is missing between its entries",
    "[": "the '[' opened here is not closed with ']', or a ',' is missing between its items",
}


def _unclosed(text: str) -> tuple[int, int, str] | None:
    """The innermost '[' or '{' that opens a flow collection and is never closed, as (line,
    column, bracket): brackets inside quotes, comments and plain text (`echo [x`) are not counted."""
    opened: list[tuple[int, int, str]] = []
    for line, column, char in flow_brackets(text):
        if char in "[{":
            opened.append((line, column, char))
        else:
            opened.pop()
    return opened[-1] if opened else None


def flow_brackets(text: str) -> Iterator[tuple[int, int, str]]:
    """Each bracket that opens or closes a flow collection, as (line, column, bracket), in the
    order written; a closing one only where one is open."""
    depth, quote = 0, ""  # how many are open; the quote a scalar is in
    last, blank, closed, json = "", True, False, False
    lead = False  # whether `last` stood where a node starts (a `-` or `?` there is an indicator)
    # Where the node holding a plain (or block) scalar starts (`a` of `a: x`, `-` of `- x`), while
    # that scalar may go on: a line indented deeper is more of its text (`a: x\n  '[` is the text
    # "x '["), and nothing starts there. *node* and *parent*: the last two columns a node started at.
    scalar: int | None = None
    block = False  # that scalar is a block scalar (`|`, `>`): a `#` line in it is text, not a comment
    node = parent = -1
    for number, line in enumerate(LINE_BREAK.split(text), 1):
        indent = len(line) - len(line.lstrip(" "))
        if not quote and not depth and not line.strip(" \t"):
            continue  # an empty line: a scalar going on goes on past it
        if not quote and not depth:  # a line starts, and with it a node may
            if scalar is not None and indent > scalar and (block or not line.lstrip().startswith("#")):
                last, blank, closed, json, lead = "a", True, False, False, False  # text goes on
            else:
                last, blank, closed, json, lead, scalar = "", True, False, False, False, None
        elif not quote:  # in a flow collection a line break is a blank, and a plain scalar goes on
            blank = True
        at = 0
        while at < len(line):
            char = line[at]
            at += 1
            if quote:
                if quote == '"' and char == "\\":
                    at += 1  # an escape: the next character is text, a quote too
                elif quote == "'" and char == "'" and line.startswith("'", at):
                    at += 1  # '' is a quote within single quotes
                elif char == quote:
                    quote, last, closed = "", char, True
                continue
            if char in " \t":
                blank = True
                continue
            # A scalar or collection starts at the start of a line, after an indicator and a
            # blank (`- `, `? `, `: `; a `-` or `?` inside a plain scalar, `:- '`, is text), after
            # `[`, `{` or `,` in a collection, and after a `:` that follows a quoted key or a
            # collection there (`{"a":"b"}`)
            starts = (
                last == ""
                or (blank and (last == ":" or (last in "-?" and lead)))
                or (depth > 0 and (last in "[{," or (last == ":" and json)))
            )
            if char == "#" and blank:
                break  # a comment, to the end of the line
            closes = False
            if char in "'\"" and starts:
                quote = char
            elif char in "[{" and starts:
                depth += 1
                yield number, at, char
            elif char in "]}" and depth:
                depth, closes = depth - 1, True
                yield number, at, char
            json, closed = char == ":" and closed, closes
            last, blank, lead = char, False, starts
            if starts:
                node, parent = at - 1, node
        if not quote and not depth and scalar is None and _scalar_goes_on(last, closed, lead):
            scalar = parent if parent >= 0 else node - 1  # (a value on a line of its own: deeper)
            block = BLOCK_HEADER.search(line.split(" #", 1)[0].rstrip()) is not None
        if not quote and not depth and not (last == ":" or (last in "-?" and lead)):
            node = parent = -1  # (a key or `-` whose value is on the next line is its parent)


# The end of a line that starts a block scalar: `|` or `>`, with its chomping and indentation.
BLOCK_HEADER = re.compile(r"(^|\s)[|>][-+0-9]*$")


def _scalar_goes_on(last: str, closed: bool, lead: bool) -> bool:
    """Whether a line whose last character read is *last* (*closed*: a quote or bracket that
    closed there; *lead*: it stood where a node starts) ends in a scalar that the next, deeper
    line goes on with: plain text, or a block scalar's `|` or `>`, not an indicator."""
    return not (last in ("", ":") or closed or (last in "-?" and lead))


def _indentation(lines: list[str], at: tuple[int, int], problem: str) -> tuple[int, int, str] | None:
    """The line indented unlike its neighbours: the parser's own, or the one before it; or, when
    the lines are indented well, the value on the parser's line that is the slip."""
    number = at[0]
    if not 1 <= number <= len(lines):
        return None
    here = _key(lines[number - 1])
    above = _previous(lines, number)
    if here is None or above is None:
        return _in_value(lines, at, problem)
    at_line, before = above
    # The line before stepped out of its block and this one stays in it: that line is the mistake
    # ("  port: 8080" under "    image: ..." in an app), not this one.
    earlier = _previous(lines, at_line)
    if earlier and before.indent < earlier[1].indent == here.indent and before.value:
        return (
            at_line,
            1,
            (
                f"'{before.key}' is indented by {before.indent} spaces, less than the lines around it "
                f"({here.indent}); indent it by {here.indent} to keep it with them"
            ),
        )
    if here.indent > before.indent and before.value:
        return (
            number,
            here.indent + 1,
            (
                f"'{here.key}' is indented under '{before.key}' (line {at_line}), which already has a value; "
                f"indent '{here.key}' like '{before.key}', or give '{before.key}' no value to nest it"
            ),
        )
    first_in_block = here.indent > before.indent  # under a key with no value: its first key
    levels = _enclosing(lines, number)
    if not first_in_block and here.indent not in {level.indent for _, level in levels}:
        listed = ", ".join(f"'{level.key}' at {level.indent}" for _, level in levels[:3])
        return (
            number,
            here.indent + 1,
            (
                f"'{here.key}' is indented by {here.indent} spaces, which lines up with no key above it "
                f"({listed}); indent it like the key it belongs beside"
            ),
        )
    return _in_value(lines, at, problem)


def _in_value(lines: list[str], at: tuple[int, int], problem: str) -> tuple[int, int, str] | None:
    """A slip inside a value, at the parser's mark: a second ': ' (`NOTE: see: the docs`), or
    text after a closing quote (`'it's here'`, `"x" trailing`)."""
    number, column = at
    line = lines[number - 1]
    if "mapping values are not allowed" in problem:
        ends = not line[column:].strip()  # `image: ghcr.io/acme/web:`
        said = "ends with ':'" if ends else "holds ': '"
        return number, column, f"a value {said}; put the whole value in quotes"
    if "found '<scalar>'" in problem and line[: column - 1].rstrip().endswith(("'", '"')):
        return (
            number,
            column,
            "text follows the value's closing quote; put the whole value in quotes "
            "(a ' inside '...' is written '', a \" inside \"...\" is written \\\")",
        )
    return None


@dataclass(frozen=True)
class _Line:
    indent: int
    key: str
    value: str


def _key(line: str) -> _Line | None:
    found = _KEY.match(line.rstrip())
    if not found:
        return None
    return _Line(len(found.group("indent")), found.group("key").strip(), (found.group("value") or "").strip())


def _previous(lines: list[str], number: int) -> tuple[int, _Line] | None:
    """The nearest key line above line `number` (blank lines and comments skipped)."""
    for at in range(number - 1, 0, -1):
        text = lines[at - 1]
        if not text.strip() or text.lstrip().startswith("#"):
            continue
        key = _key(text)
        return (at, key) if key else None
    return None


def _enclosing(lines: list[str], number: int) -> list[tuple[int, _Line]]:
    """The keys a line at `number` could line up with: the nearest above at each shallower
    indentation, deepest first."""
    found: list[tuple[int, _Line]] = []
    limit = None
    for at in range(number - 1, 0, -1):
        key = _key(lines[at - 1])
        if key is None or (limit is not None and key.indent >= limit):
            continue
        found.append((at, key))
        limit = key.indent
        if limit == 0:
            break
    return found
