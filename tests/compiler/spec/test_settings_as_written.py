"""A setting written as a plain number or true/false reaches the app exactly as written."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import MINIMAL
from tests.support.manifests import objects, render_text

WRITTEN = [
    "1.50",
    "1.10",
    "1e5",
    "1E+5",
    ".5",
    "0x10",
    "0o17",
    "007",
    "+12",
    "-0",
    "1e400",
    "-.inf",
    ".NaN",
    "True",
    "false",
]


def _settings(text: str, app: str = "web", environment: str = "production") -> dict[str, Any]:
    for rel, obj in objects(render_text(text)):
        if rel == f"{environment}/{app}.yaml" and obj["kind"] == "Deployment":
            return {
                e["name"]: e.get("value") for e in obj["spec"]["template"]["spec"]["containers"][0]["env"]
            }
    raise AssertionError("no Deployment")


def _with_env(lines: str) -> str:
    return MINIMAL + "    env:\n" + lines


def test_a_plain_number_or_truth_setting_is_the_text_it_was_written_with() -> None:
    env = _settings(_with_env("".join(f"      S{i}: {w}\n" for i, w in enumerate(WRITTEN))))
    assert [env[f"S{i}"] for i in range(len(WRITTEN))] == WRITTEN


def test_as_written_in_flow_mappings_after_anchors_and_before_comments() -> None:
    text = MINIMAL + "    env: {A: 1.50, B: 0x1F}\n" + "  api:\n    image: ghcr.io/acme/api:1\n    port: 80\n"
    text += "    env:\n      C: &version 3.10   # the anchor's value\n      D: 2.0 # a comment\n"
    assert _settings(text) == {"A": "1.50", "B": "0x1F"}
    assert _settings(text, "api") == {"C": "3.10", "D": "2.0"}


def test_as_written_at_every_level_settings_are_written() -> None:
    text = (
        MINIMAL.replace(
            "  production: {}\n", "  production:\n    env: {LEVEL: 1.0}\n    apps: {web: {env: {OWN: 07}}}\n"
        )
        + "env:\n  SHARED: 2.50\n"
    )
    assert _settings(text) == {"SHARED": "2.50", "LEVEL": "1.0", "OWN": "07"}


def test_as_written_when_the_file_needs_the_round_trip_parser_and_with_windows_line_ends() -> None:
    tagged = _with_env("      A: 1.50\n      B: !!str 1.20\n")  # a tag sends the file to the other parser
    assert _settings(tagged) == {"A": "1.50", "B": "1.20"}
    assert _settings(_with_env("      A: 1.50\n").replace("\n", "\r\n")) == {"A": "1.50"}


@pytest.mark.parametrize("line_break", ["\r", "\x85", "\u2028", "\u2029"])
def test_as_written_after_any_line_break_the_parser_counts(line_break: str) -> None:
    # a lone CR (or NEL, LS, PS) ends a line for both parsers: the lines below keep their texts
    text = MINIMAL.replace("    port: 8080\n", "    port: 8080\n    # note" + line_break + "    # more\n")
    assert _settings(text + "    env:\n      A: 1.10\n      B: 1.1\n") == {"A": "1.10", "B": "1.1"}


def test_an_alias_is_its_anchors_text() -> None:
    text = _with_env("      A: &v 2.50\n      B: *v\n")
    assert _settings(text) == {"A": "2.50", "B": "2.50"}


def test_a_value_with_an_explicit_tag_keeps_the_tags_value() -> None:
    assert _settings(_with_env("      A: !!float 2\n")) == {"A": "2.0"}


@settings(max_examples=60, deadline=None)
@given(
    st.one_of(
        st.floats(allow_nan=False, allow_infinity=False).map(repr),
        st.integers(min_value=-(10**30), max_value=10**30).map(str),
        st.builds(lambda whole, zeros: f"{whole}.{'0' * zeros}", st.integers(0, 999), st.integers(1, 5)),
        st.builds(lambda n: f"0x{n:X}", st.integers(0, 2**40)),
        st.builds(lambda n: f"0o{n:o}", st.integers(0, 2**40)),
    )
)
def test_any_number_written_plainly_is_the_setting_as_written(written: str) -> None:
    assert _settings(_with_env(f"      N: {written}\n")) == {"N": written}


def test_brackets_inside_quotes_and_comments_are_text_however_many() -> None:
    # the nesting guard counts only the lists and mappings the parser reads: 300 '[' in quotes, a
    # comment or a block of text are a setting, not 300 levels of nesting
    deep = "[" * 300
    text = _with_env(
        f"      A: \"{deep}\"\n      B: 'it''s {deep}'\n      C: x{deep}  # {deep}\n"
        f"      D: |\n        {deep}\n        {deep}\n      E: >-\n        {deep}\n"
    )
    assert _settings(text) == {
        "A": deep,
        "B": f"it's {deep}",
        "C": f"x{deep}",
        "D": f"{deep}\n{deep}\n",
        "E": deep,
    }


def test_an_anchored_truth_is_its_text_on_either_parser() -> None:
    # the round-trip parser (a tag sends the file there) keeps an anchored true/false as an int
    tagged = _with_env("      B: &b True\n      C: *b\n      D: !!str x\n")
    assert _settings(tagged) == {"B": "True", "C": "True", "D": "x"}
    assert _settings(tagged.replace("      D: !!str x\n", "")) == {"B": "True", "C": "True"}
    public = MINIMAL.replace(
        "    port: 8080\n", "    port: 8080\n    public: &t true\n    env: {D: !!str x}\n"
    )
    assert _settings(public) == {"D": "x"}
