"""How often a schedule runs, in the words `plan` and `explain` print."""

from __future__ import annotations

import pytest

from unhazzle.compiler.presentation.report import runs_text

MONTH_HOURS = 24 * 30.44


@pytest.mark.parametrize(
    ("runs", "said"),
    [
        (60 * MONTH_HOURS, "about 60 times an hour"),  # * * * * *
        (MONTH_HOURS, "about once an hour"),  # 0 * * * *
        (30.44 * 4, "about 4 times a day"),
        (30.44, "about 30 times a month"),  # daily: 30 runs, not "once a day" rounded from 30
        (4.35, "about 4 times a month"),  # weekly
        (1, "about once a month"),
        (0.08, "0.08 times a month"),  # yearly
    ],
)
def test_a_schedule_is_said_in_the_unit_that_reads_at_a_glance(runs: float, said: str) -> None:
    assert runs_text(runs) == said
