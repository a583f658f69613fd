"""Every problem of independent checks is said together (errors.at_once)."""

from __future__ import annotations

import pytest

from unhazzle.errors import InputError, Problem, UsageError, at_once


def located(line: int) -> InputError:
    return InputError([Problem("unhazzle.yaml", line, 1, f"problem {line}")])


def refuse(error: Exception) -> None:
    raise error


def test_the_values_of_checks_that_pass() -> None:
    assert at_once(lambda: 1, lambda: "two") == (1, "two")


def test_located_problems_of_every_check_stay_located_and_sorted() -> None:
    with pytest.raises(InputError) as caught:
        at_once(lambda: refuse(located(9)), lambda: 3, lambda: refuse(located(2)))
    assert [p.line for p in caught.value.problems] == [2, 9]


def test_a_flag_refusal_with_located_problems_says_both_as_lines() -> None:
    with pytest.raises(UsageError) as caught:
        at_once(lambda: refuse(located(4)), lambda: refuse(UsageError("--tail -5: error: out of range")))
    assert caught.value.lines() == [
        "unhazzle.yaml:4:1: error: problem 4",
        "--tail -5: error: out of range",
    ]


def test_anything_else_is_not_taken_for_bad_input() -> None:
    with pytest.raises(ZeroDivisionError):
        at_once(lambda: 1 // 0, lambda: refuse(located(1)))
