"""Numbers read from text (sizes, durations, CPU, budgets): exact, any number of digits, and each
one a value or a located refusal in the user's words, never an internal error."""

from __future__ import annotations

from fractions import Fraction
from typing import Annotated

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from pydantic import Field, TypeAdapter, ValidationError

from tests.conftest import MINIMAL
from unhazzle.compiler.spec.model import (
    DURATION_UNITS,
    MAX_JOB_TIMEOUT_S,
    MIN_MEMORY_MB,
    UNIT_MB,
    Megabytes,
    Seconds,
    Size,
)

NINES = "9" * 400
DOTLESS_I = "\u0131"  # matches 'i' when case is ignored
MEGABYTES: TypeAdapter[int] = TypeAdapter(Megabytes)
JOB_TIMEOUT: TypeAdapter[int] = TypeAdapter(Annotated[Seconds, Field(le=MAX_JOB_TIMEOUT_S)])
MAX_MEMORY = 256 * 1024  # Size.memory's limit, in MB


@pytest.mark.parametrize(
    ("written", "says"),
    [
        (f'size: {{memory: "{NINES}MB"}}', f"10:20: error: apps.web.size.memory: '{'9' * 60}...' is too large: must be at most 256GB"),
        (f'volume: {{size: "{NINES}GB", path: /data}}', "10:20: error: apps.web.volume.size: a volume holds at most 10TB"),
        (f'writable: [{{path: /cache, size: "{NINES}MB"}}]', "10:37: error: apps.web.writable[0].size: a writable folder holds at most 8GB"),
        (f'release: {{command: [x], size: {{memory: "{NINES}MB"}}}}', "10:44: error: apps.web.release.size.memory: '999"),
        (f'release: {{command: [x], timeout: "{"9" * 5000}s"}}', f"10:38: error: apps.web.release.timeout: '{'9' * 60}...' is too large: must be at most 6h"),
        (f'size: {{cpu: "{NINES}"}}', f"10:17: error: apps.web.size.cpu: '{'9' * 60}...' is too large"),
        ("size: {cpu: .nan}", "10:17: error: apps.web.size.cpu: .nan is not a number"),
        (f"size: {{memory: 512M{DOTLESS_I}b}}", f"10:20: error: apps.web.size.memory: '512M{DOTLESS_I}b' is not a size; write it like 512MB or 10GB"),
        ("size: {memory: 1.0000000000000000000000000000001GB}", "is not a whole number of megabytes"),
    ],
)  # fmt: skip
def test_a_number_of_any_length_is_a_located_error_not_a_crash(cli, write_spec, written: str, says: str):
    spec = write_spec(MINIMAL + f"    {written}\n")
    result = cli("validate", str(spec))
    assert result.code == 2, result.err
    assert says in result.err and "internal error" not in result.err, result.err


@pytest.mark.parametrize("budget", [".inf", f'"{NINES}"', "1e400"])
def test_a_budget_is_a_finite_number(cli, write_spec, budget: str):
    spec = write_spec(MINIMAL + f"budget: {{max_monthly_eur: {budget}}}\n")
    result = cli("validate", str(spec))
    assert result.code == 2, result.out
    assert "budget.max_monthly_eur: " in result.err and "is too large" in result.err, result.err


SIZE_TEXT = st.builds(
    lambda whole, decimals, unit: f"{whole}{'.' + decimals if decimals else ''}{unit}",
    st.text("0123456789", min_size=1, max_size=500),
    st.text("0123456789", max_size=40),
    st.sampled_from(["", *UNIT_MB, *(u.upper() for u in UNIT_MB)]),
)


@given(SIZE_TEXT)
@example(NINES + "MB")  # past what a float holds
@example("1." + "0" * 30 + "1GB")  # a float would round it to a whole 1024
def test_a_size_is_exactly_what_it_says_in_megabytes_or_refused(text: str):
    number = text.rstrip("MmGgTtIiBb")
    exact = Fraction(number) * UNIT_MB[text[len(number) :].lower() or "mb"]
    try:
        memory = Size.model_validate({"memory": text}).memory
    except ValidationError as err:
        [error] = err.errors()
        assert exact.denominator != 1 or not MIN_MEMORY_MB <= exact <= MAX_MEMORY, error
    else:
        assert memory == exact and MIN_MEMORY_MB <= exact <= MAX_MEMORY


@given(st.text(max_size=60) | st.from_regex(r"\A\s*[0-9]{1,600}(\.[0-9]{0,60})?\s*[A-Za-z]{0,3}\s*\Z"))
@example(f"512M{DOTLESS_I}b")  # a look-alike of a unit, not in the unit table
@example("9" * 5000 + "MB")  # more digits than Python converts to an integer
def test_any_text_is_a_size_or_a_refusal_in_words(text: str):
    try:
        assert MEGABYTES.validate_python(text) > 0
    except ValidationError as err:
        assert "integer string conversion" not in str(err)


@given(st.text("0123456789", min_size=1, max_size=6000), st.sampled_from(["", "s", "m", "h", "d"]))
@example("9" * 5000, "s")  # more digits than Python converts to an integer
def test_a_duration_of_any_length_is_its_seconds_or_too_large(digits: str, unit: str):
    significant = digits.lstrip("0")
    exact = int(significant or "0") * DURATION_UNITS[unit or "s"] if len(significant) < 10 else None
    try:
        seconds = JOB_TIMEOUT.validate_python(digits + unit)
    except ValidationError as err:
        [error] = err.errors()
        assert exact is None or not 0 < exact <= MAX_JOB_TIMEOUT_S, error
        assert error["type"] in ("greater_than", "less_than_equal"), error
    else:
        assert seconds == exact
