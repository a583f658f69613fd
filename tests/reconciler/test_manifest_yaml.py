"""An environment folder's YAML is read exactly as PyYAML's safe loader reads it (the reconciler
applies what it reads), however the documents are written; only faster where they are plain."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from unhazzle.reconciler.source.guard import parse_folder
from unhazzle.reconciler.source.manifestyaml import Memo, documents


def read(text: str) -> list[Any]:
    return [value for _, value in documents(text, Memo())]


def same(a: Any, b: Any) -> bool:
    """Equal, and of the same types all the way down (True is not 1; NaN equals NaN here)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return bool(a == b)


# Texts YAML reads as something else than a string, written plain and quoted.
WORDS = ["yes", "No", "on", "null", "~", "", "1", "0x1F", "0o17", "1_000", "1e3", ".inf", "-.Inf",
         ".nan", "3.14", "2001-12-14", "2001-12-14t21:59:43.10-05:00", "=", "<<", "a b", "#x", "'q'",
         "true", "TRUE", "012", "+1", "0b101", "1:20", "é", "- x"]  # fmt: skip
scalars = st.one_of(
    st.sampled_from(WORDS), st.text(max_size=8), st.integers(), st.floats(allow_nan=False), st.booleans(),
    st.none(),
)  # fmt: skip
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(WORDS) | st.text(max_size=5), inner, max_size=4),
    max_leaves=20,
)  # fmt: skip
styles = st.sampled_from(
    [
        {"default_flow_style": False},
        {"default_flow_style": True},
        {"default_style": '"'},
        {"default_style": "'"},
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(values, min_size=1, max_size=3), styles)
def test_any_document_reads_as_the_safe_loader_reads_it(docs: list[Any], style: dict[str, Any]) -> None:
    text = yaml.safe_dump_all(docs, allow_unicode=True, **style)
    assert same(read(text), list(yaml.safe_load_all(text)))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(WORDS), min_size=1, max_size=6))
def test_plain_words_in_any_place_read_as_the_safe_loader_reads_them(words: list[str]) -> None:
    text = "k: " + words[0] + "\nl: [" + ", ".join(words[1:]) + "]\n" + (words[-1] or "x") + ": v\n"
    try:
        expected = list(yaml.safe_load_all(text))
    except yaml.YAMLError as exc:
        with pytest.raises(type(exc)):
            read(text)
        return
    assert same(read(text), expected)


UNUSUAL = {
    "merge key": "base: &b {a: 1, b: 2}\nkid:\n  <<: *b\n  b: 3\n",
    "merge list": "x: &x {a: 1}\ny: &y {b: 2}\nz: {<<: [*x, *y], c: 3}\n",
    "value key": "a: {=: 1}\n",
    "set": "s: !!set {a, b}\n",
    "omap": "o: !!omap [{a: 1}, {b: 2}]\n",
    "pairs": "p: !!pairs [{a: 1}, {a: 2}]\n",
    "shared": "a: &x {k: [1, 2]}\nb: *x\nc: *x\n",
    "binary": "b: !!binary aGVsbG8=\n",
    "explicit tags": "a: !!str 1\nb: !!int '7'\nc: !!float '1'\nd: !!map {x: !!seq [1]}\n",
    "timestamp": "t: 2001-12-14 21:59:43.10 -5\nd: 2002-12-14\n",
    "duplicate keys": "a: 1\na: 2\n",
    "empty documents": "---\n---\na: 1\n...\n---\n",
}


@pytest.mark.parametrize("text", UNUSUAL.values(), ids=UNUSUAL.keys())
def test_unusual_documents_read_as_the_safe_loader_reads_them(text: str) -> None:
    assert same(read(text), list(yaml.safe_load_all(text)))


def laughs(levels: int, *, merged: bool = False) -> str:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]" for i in range(levels)]
    return "\n".join(lines) + ("\nm: {<<: {k: 1}}" if merged else "") + "\n"


def test_aliases_give_one_shared_object_as_pyyaml_builds_them() -> None:
    (doc,) = read(laughs(3))
    assert doc["d"][0] is doc["c"] and doc["b"][0] is doc["a"]
    assert same(doc, yaml.safe_load(laughs(3)))


@pytest.mark.parametrize("merged", [False, True], ids=["walked", "built by PyYAML"])
def test_a_billion_laughs_is_refused_before_anything_writes_it_out(merged: bool) -> None:
    """Nine lines that aliases write out to a billion values: the parse cache and the hash would
    write them all (as JSON), so the document is refused, as Go's YAML library refuses it."""
    with pytest.raises(yaml.MarkedYAMLError, match="aliases write this document out to more than"):
        read(laughs(8, merged=merged))
    read(laughs(4, merged=merged))  # 100,000 values: taken


@pytest.mark.parametrize("merged", [False, True], ids=["walked", "built by PyYAML"])
def test_a_value_that_contains_itself_is_refused(merged: bool) -> None:
    text = "kind: ConfigMap\ndata: &d {a: *d}\n" + ("m: {<<: {k: 1}}\n" if merged else "")
    with pytest.raises(yaml.MarkedYAMLError, match="contains itself") as refused:
        read(text)
    assert refused.value.problem_mark is not None and refused.value.problem_mark.line == 1


def test_deep_nesting_reads_as_the_safe_loader_reads_it() -> None:
    text = "data: " + "{k: " * 600 + "1" + "}" * 600 + "\n"  # past Python's stack for the walk
    assert read(text) == list(yaml.load_all(text, Loader=yaml.CSafeLoader))


def test_nan_keys_stay_apart_as_pyyaml_keeps_them() -> None:
    text = "{!!float nan: 1, !!float nan: 2}\n"
    (doc,) = read(text)
    assert len(doc) == 2 == len(yaml.safe_load(text))


@pytest.mark.parametrize("merged", [False, True], ids=["walked", "built by PyYAML"])
def test_numbers_past_100_characters_are_refused(merged: bool) -> None:
    """PyYAML builds a sexagesimal number in quadratic time: a 2 MB one took about a minute."""
    text = ("m: {<<: {k: 1}}\n" if merged else "") + "n: " + ":".join(["1"] * 60) + "\n"
    with pytest.raises(yaml.MarkedYAMLError, match="a number of more than 100 characters"):
        read(text)


@pytest.mark.parametrize(
    ("text", "error"),
    [("a: !foo 1\n", "could not determine a constructor"), ("? [a, b]\n: c\n", "unhashable key"),
     ("a: [1\n", "expected ',' or ']'")],
)  # fmt: skip
def test_bad_documents_fail_as_the_safe_loader_fails(text: str, error: str) -> None:
    with pytest.raises(yaml.YAMLError) as expected:
        list(yaml.safe_load_all(text))
    with pytest.raises(type(expected.value), match=error):
        read(text)


BAD_TAGGED = [
    "!!int x",
    "!!float x",
    "!!bool x",
    "!!timestamp never",
    "!!timestamp 2001-13-45",
    "!!int 1e99999",
]


@pytest.mark.parametrize("value", BAD_TAGGED)
@pytest.mark.parametrize("merged", [False, True], ids=["plain", "with a merge key"])
def test_a_value_its_tag_cannot_build_is_a_yaml_error_at_its_place(value: str, merged: bool) -> None:
    """PyYAML lets these escape as ValueError, AttributeError, KeyError: a folder holding one would
    have stopped the reconciler's pass instead of being refused."""
    text = "apiVersion: v1\nkind: Service\nmetadata: {name: x, namespace: p-e}\n"
    text += ("base: &b {a: 1}\nspec:\n  <<: *b\n" if merged else "spec:\n") + f"  port: {value}\n"
    with pytest.raises(yaml.MarkedYAMLError, match="cannot be read as its tag says"):
        read(text)
    manifests, problems = parse_folder("p/e", {"web.yaml": text.encode()})
    assert manifests == [] and len(problems) == 1
    # the value's own place; in a document PyYAML builds (a merge key), the document's
    assert (problems[0].line, problems[0].column) == ((1, 1) if merged else (5, 9)), problems


def test_timestamps_are_their_own_objects_as_pyyaml_makes_them() -> None:
    (doc,) = read("a: 2001-12-14\nb: 2001-12-14\n")
    assert doc == {"a": dt.date(2001, 12, 14), "b": dt.date(2001, 12, 14)}


def test_a_folder_reads_every_file_with_its_lines() -> None:
    files = {
        "_environment.yaml": b"apiVersion: v1\nkind: Namespace\nmetadata: {name: shop-production}\n",
        "web.yaml": b"apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: ns}\nspec: {ports: [{port: 80}]}\n"
        b"---\napiVersion: v1\nkind: Service\nmetadata: {name: api, namespace: ns}\n",
    }
    manifests, problems = parse_folder("shop/production", files)
    assert problems == []
    assert [(m.file, m.line, m.body["metadata"]["name"]) for m in manifests] == [
        ("shop/production/_environment.yaml", 1, "shop-production"),
        ("shop/production/web.yaml", 1, "web"),
        ("shop/production/web.yaml", 6, "api"),
    ]
    assert manifests[1].body["spec"]["ports"][0]["port"] == 80
