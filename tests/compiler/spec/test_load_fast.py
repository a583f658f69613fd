"""The libyaml fast path of load.py gives exactly what the round-trip parser gives (data and
positions), and leaves everything unusual to it."""

from __future__ import annotations

import io

from hypothesis import given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from tests.conftest import EXAMPLES
from unhazzle.compiler.spec import load
from unhazzle.compiler.spec.positions import Positions
from unhazzle.errors import InputError


def _round_trip(text: str) -> tuple[object, Positions]:
    positions = Positions(file="x")
    return load._Walker(positions, "x").plain(load._parse(text, "x"), ()), positions


def _same(text: str) -> None:
    fast = load._fast_load(text, "x")
    try:
        data, positions = _round_trip(text)
    except InputError:
        # libyaml reads a few plain scalars the pure parser rejects (e.g. `a: ?0`, valid YAML 1.2)
        return
    _compare(fast, data, positions)


def _compare(fast: load.Document | None, data: object, positions: Positions) -> None:
    if fast is None:
        return  # left to the round-trip parser: nothing to compare
    assert fast.data == data
    assert repr(fast.data) == repr(data)  # same types too (1 vs 1.0 vs True vs '1')
    assert fast.positions.keys == positions.keys
    assert fast.positions.values == positions.values


def test_load_fast_path_matches_round_trip_on_the_example():
    text = (EXAMPLES / "shop" / "unhazzle.yaml").read_text(encoding="utf-8")
    assert load._fast_load(text, "x") is not None
    _same(text)


def test_load_fast_path_matches_round_trip_on_tricky_scalars():
    text = (
        "a: 010\nb: 0o10\nc: yes\nd: on\ne: ~\nf: 1_000\ng: 2024-01-01\nh: .inf\ni: 0x1F\nj: 1:30\n"
        "k: '1'\nl:\n- x\n-  y: 1\n   z: [1, 2]\nm: |\n  text\nn: >-\n  folded\no: \"q\\tz\"\nq: {}\n"
        "r: []\ns: -0.5e3\nt: {a: 1,\n  b: [x,\n   y]}\nu: &anchor {v: 1}\nw: *anchor\n"
    )
    _same(text)


def test_load_fast_path_gives_each_repeated_text_its_own_type_and_position():
    # the fast path resolves and constructs each scalar text once: a repeat in another style,
    # or as a key, must still come out as the round-trip parser reads it
    text = (
        "a: [1, '1', 1, \"1\", true, 'true', true, null, ~, null, 2024-01-01, '2024-01-01', 2024-01-01]\n"
        "'1': x\n1: y\nb: {1: 1, '1': '1'}\nc: [0o10, 0o10, 010, 010, 1.0, 1.0, .inf, .inf]\n"
    )
    assert load._fast_load(text, "x") is not None
    _same(text)


def test_load_fast_path_keeps_timestamps_as_written_and_leaves_long_numbers_to_round_trip():
    # a spec has no dates: a value that looks like one reaches the app as written, on both paths
    for stamp in ("2001-12-14t21:59:43.10-05:00", "2001-12-14 21:59:43.10 -5", "2024-02-30"):
        fast = load._fast_load(f"a: {stamp}\nb: {stamp}\n", "x")
        assert fast is not None and fast.data == {"a": stamp, "b": stamp}
        _same(f"a: {stamp}\n")
    assert load._fast_load("a: " + "1" * 101 + "\n", "x") is None  # refused there, with its place


def test_load_fast_path_leaves_unusual_input_to_round_trip():
    unusual = ("a: !!str 5\n", "a: &x {b: 1}\nc: {<<: *x}\n", "%YAML 1.1\n---\na: 1\n")
    unusual += ("a: 1\na: 2\n", "a:\n", "a: [1\n")
    for text in unusual:
        assert load._fast_load(text, "x") is None, text


SCALAR = st.one_of(
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=20),
    st.sampled_from(["yes", "no", "on", "off", "010", "0x1F", "1:30", "1e3", "~", "null", "True", "-", "#x"]),
)
KEY = st.text(st.characters(min_codepoint=97, max_codepoint=122), min_size=1, max_size=8)
TREE = st.recursive(
    SCALAR, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEY, inner, max_size=4), max_leaves=12
)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(KEY, TREE, min_size=1, max_size=5), st.sampled_from([None, True, False]))
def test_load_fast_path_matches_round_trip_on_generated_documents(tree, flow):
    out = io.StringIO()
    yaml = YAML(typ="rt")
    yaml.default_flow_style = flow
    yaml.dump(tree, out)
    _same(out.getvalue())
