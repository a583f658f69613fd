"""YAML syntax errors are said in the words of someone who wrote a spec, at the line where the
mistake is, not where the parser got stuck."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from unhazzle.compiler.spec.yaml_words import Marks, explain, flow_brackets

HEAD = "version: 1\nproject: shop\nregion: fsn1\nenvironments:\n  production: {}\napps:\n  web:\n"


@pytest.mark.parametrize(
    ("body", "where", "said"),
    [
        # one key under-indented: reported at it, not where the parser stumbled
        (
            "    image: ghcr.io/acme/web:1.0\n  port: 8080\n    env:\n      A: b\n",
            ":9:1:",
            "'port' is indented by 2 spaces, less than the lines around it (4); indent it by 4",
        ),
        (
            "    image: ghcr.io/acme/web:1.0\n    port: 8080\n   env:\n      A: b\n",
            ":10:4:",
            "'env' is indented by 3 spaces, which lines up with no key above it ('port' at 4, 'web' at 2",
        ),
        (
            '    image: "ghcr.io/acme/web:1.0\n    port: 8080\n',
            ":8:12:",
            "a quote opened here is never closed",
        ),
        ("    env: {A: b\n    port: 8080\n", ":8:10:", "the '{' opened here is not closed with '}'"),
        ("    command: [a, b\n    port: 8080\n", ":8:14:", "the '[' opened here is not closed with ']'"),
        # the file ends where the bracket's first value was due: the parser names no bracket
        ("    command: [echo, '[', {a: \n", ":8:26:", "the '{' opened here is not closed with '}'"),
        ("    port: 8080\n    command: [\n", ":9:14:", "the '[' opened here is not closed with ']'"),
        # well indented: the slip is in the value, at the place the value goes wrong
        (
            "    env:\n      NOTE: see: the docs\n",
            ":9:16:",
            "a value holds ': '; put the whole value in quotes",
        ),
        ("    image: ghcr.io/acme/web:\n    port: 80\n", ":8:28:", "a value ends with ':'; put the whole"),
        ("    env:\n      GREETING: 'it's here'\n", ":9:21:", "text follows the value's closing quote"),
        ('    env:\n      A: "x" trailing\n', ":9:14:", "text follows the value's closing quote"),
        ("    env:\n      A: 1\n      NOTE: see: the docs\n", ":10:16:", "a value holds ': '"),
    ],
)
def test_a_yaml_mistake_is_said_plainly_at_its_line(
    cli: Any, tmp_path: Path, body: str, where: str, said: str
) -> None:
    spec = tmp_path / "unhazzle.yaml"
    spec.write_text(HEAD + body, encoding="utf-8")
    result = cli("validate", str(spec))
    assert result.code == 2
    assert result.err.startswith(f"{spec}{where} error: {said}"), result.err
    assert "<block" not in result.err


def test_text_that_follows_no_quote_is_not_said_to_follow_one(cli: Any, tmp_path: Path) -> None:
    spec = tmp_path / "unhazzle.yaml"
    spec.write_text(HEAD + "    image: x\n   stray text\n", encoding="utf-8")
    result = cli("validate", str(spec))
    assert result.code == 2 and result.err.startswith(f"{spec}:9:4: error: ")
    assert "quote" not in result.err, result.err


marks = st.builds(
    Marks,
    problem=st.sampled_from(
        [
            "expected <block end>, but found '<block mapping start>'",
            "mapping values are not allowed here",
            "found unexpected end of stream",
            "could not find expected ':'",
            "expected the node content, but found '<stream end>'",
            "",
        ]
    ),
    context=st.sampled_from(
        [
            "while scanning a quoted scalar",
            "while parsing a flow mapping",
            "while parsing a flow node",
            "while scanning a simple key",
            "",
        ]
    ),
    problem_at=st.none() | st.tuples(st.integers(-3, 40), st.integers(-3, 40)),
    context_at=st.none() | st.tuples(st.integers(-3, 40), st.integers(-3, 40)),
)


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=" -:#'\"{}[]\nab\t", max_size=300), found=marks)
def test_explain_never_crashes_on_any_text(text: str, found: Marks) -> None:
    said = explain(text, found)
    assert said is None or (isinstance(said[2], str) and said[2])


@pytest.mark.parametrize("newline", ["\r", "\r\n"])
@pytest.mark.parametrize(
    ("body", "where", "said"),
    [
        (
            "    image: ghcr.io/acme/web:1.0\n  port: 8080\n    env:\n      A: b\n",
            ":9:1:",
            "'port' is indented by 2",
        ),
        ("    port: 8080\n    command: [\n", ":9:14:", "the '[' opened here is not closed with ']'"),
        ("    port: 8080\n    command: x\x00\n", ":9:15:", "file contains a NUL byte"),
    ],
)
def test_a_mistake_is_at_its_line_whatever_breaks_the_lines(
    cli: Any, tmp_path: Path, newline: str, body: str, where: str, said: str
) -> None:
    # The parser breaks lines at a lone CR and at CR LF as well as at LF: so must the places
    # said outside it, or a file saved with old Mac line endings is all "line 1".
    spec = tmp_path / "unhazzle.yaml"
    spec.write_bytes((HEAD + body).replace("\n", newline).encode())
    result = cli("validate", str(spec))
    assert result.code == 2
    assert result.err.startswith(f"{spec}{where} error: {said}"), result.err


def test_a_byte_that_is_not_utf8_is_at_its_line_after_lone_cr(cli: Any, tmp_path: Path) -> None:
    spec = tmp_path / "unhazzle.yaml"
    spec.write_bytes((HEAD + "    port: 8080\n    command: x").replace("\n", "\r").encode() + b"\xff\r")
    result = cli("validate", str(spec))
    assert result.code == 2
    assert result.err.startswith(f"{spec}:9:15: error: not UTF-8 text (byte 0xff)"), result.err


LEAVES = st.text(alphabet="ab '\"\\[]{},:#-\n", max_size=8)
NESTED = st.recursive(
    LEAVES,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.from_regex("[A-Za-z_]{1,3}", fullmatch=True), inner, max_size=3)
    ),
    max_leaves=12,
)
FLOW_TOKENS = {
    "FlowSequenceStartToken": "[",
    "FlowMappingStartToken": "{",
    "FlowSequenceEndToken": "]",
    "FlowMappingEndToken": "}",
}


@settings(max_examples=400, deadline=None)
@given(value=NESTED, flow=st.booleans(), width=st.sampled_from([12, 4096]))
@example(value=":- '", flow=False, width=12)  # a `- ` inside a plain scalar is text
@example(value={"AA": "-:- '"}, flow=False, width=12)  # a plain scalar goes on over lines
@example(value={"A": {"B": [], "AAA": "\\ '["}}, flow=False, width=12)  # ... in a block, the `'` too
@example(value={"AA": "::::::[", "B": [[]]}, flow=False, width=12)  # ... from a line of its own
@example(value={"A": "::::] '[", "B": []}, flow=False, width=12)  # ... after a `]` that closes nothing
def test_flow_brackets_are_the_brackets_the_parser_reads(value: Any, flow: bool, width: int) -> None:
    # the nesting guard reads these to skip brackets in quotes, escapes and comments: they are
    # the parser's own, wherever a dump puts quotes, escapes and line breaks
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = True if flow else None
    yaml.width = width
    out = io.StringIO()
    yaml.dump({"k": value}, out)
    text = out.getvalue() + "# [ a comment {\n"
    try:
        parsed = [
            (t.start_mark.line + 1, t.start_mark.column + 1, FLOW_TOKENS[type(t).__name__])
            for t in yaml.scan(text)
            if type(t).__name__ in FLOW_TOKENS
        ]
        assume(yaml.load(text) == {"k": value})
    except YAMLError:
        parsed = None
    # the dumper wrote what its own parser refuses or misreads (`{:': ''}`): no file to compare
    assume(parsed is not None)
    assert list(flow_brackets(text)) == parsed, text


@pytest.mark.parametrize(
    "text",
    [
        "CONFIG: |\n  # defaults\n  'quoted\nargs: [a]\n",  # a `#` line in a block scalar is its text
        "a: !!str >-\n  # x\n  'q [\nb: {c: []}\n",
        "a: x\n  y 'z [\nb: [1]\n",  # a plain scalar over two lines
        "- name: x\n  items: [1]\n",  # the next key of an item's mapping is no scalar's text
    ],
)
def test_flow_brackets_in_scalars_that_go_on_over_lines(text: str) -> None:
    yaml = YAML(typ="safe", pure=True)
    parsed = [
        (t.start_mark.line + 1, t.start_mark.column + 1, FLOW_TOKENS[type(t).__name__])
        for t in yaml.scan(text)
        if type(t).__name__ in FLOW_TOKENS
    ]
    assert list(flow_brackets(text)) == parsed
