"""Schedules read as the cluster reads them: counted per month, stepped to the next run in a time
zone, and refused in words when the cluster would refuse them or they never come."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from unhazzle.shared.cron import CronError, check_zone, parse


@pytest.mark.parametrize(
    ("schedule", "runs"),
    [
        ("* * * * *", 43_830.0),  # 60 * 24 * 30.4375
        ("*/15 * * * *", 2_922.0),
        ("0 3 * * *", 30.44),
        ("@daily", 30.44),
        ("@hourly", 730.5),
        ("0 0 * * 0", 4.35),
        ("@weekly", 4.35),
        ("0 9 * * mon-fri", 21.74),
        ("0 0 1 * *", 1.0),
        ("@yearly", 1 / 12),
        ("0 0 29 2 *", 1 / 48),  # once in four years
    ],
)
def test_runs_a_month_average_four_years(schedule: str, runs: float) -> None:
    assert parse(schedule).runs_a_month() == pytest.approx(runs, rel=0.01)


@pytest.mark.parametrize(
    ("schedule", "seconds", "together"),
    [
        ("*/15 * * * *", 3600, 4),  # started at :00, :15, :30, :45, all going at :59
        ("*/15 * * * *", 900, 1),  # each ends as the next starts
        ("* * * * *", 3600, 60),
        ("0,1 * * * *", 90, 2),  # 90 s is two minutes' starts
        ("0 3 * * *", 3600, 1),
        ("0 3 * * *", 7 * 86400, 7),  # a week's runs of a daily job
        ("0 0,23 * * *", 7200, 2),  # over midnight: 23:00 and the next day's 00:00
        ("@hourly", 86400, 24),
    ],
)
def test_the_most_runs_in_progress_together(schedule: str, seconds: int, together: int) -> None:
    assert parse(schedule).most_at_once(seconds) == together


@given(st.sampled_from(["*/7 * * * *", "5,50 */3 * * *", "0 9-17 * * mon-fri", "*/20 1,2 * * *"]),
       st.integers(min_value=1, max_value=3 * 86400))  # fmt: skip
def test_the_most_runs_together_is_what_a_minute_by_minute_count_finds(schedule: str, seconds: int) -> None:
    every = parse(schedule)
    starts = [m for m in range(4 * 1440) if (m % 1440) // 60 in every.hours and m % 60 in every.minutes]
    span = -(-seconds // 60)
    counted = max(sum(1 for s in starts if t - span < s <= t) for t in range(4 * 1440))
    assert every.most_at_once(seconds) == counted


def test_a_day_of_month_and_a_weekday_both_given_run_on_either() -> None:
    # As cron (and the cluster): the 1st of each month, and every Monday.
    schedule = parse("0 0 1 * 1")
    assert schedule.runs_on(dt.date(2026, 6, 1)) and schedule.runs_on(dt.date(2026, 6, 8))
    assert not schedule.runs_on(dt.date(2026, 6, 9))
    assert parse("0 0 * * 0").weekdays == parse("0 0 * * sun").weekdays == frozenset({0})


def test_the_next_run_is_in_the_jobs_time_zone_across_a_clock_change() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    before = dt.datetime(2026, 3, 28, 12, 0, tzinfo=dt.UTC)  # the clocks go forward on the 29th
    first = parse("30 2 * * *").next_run(before, "Europe/Berlin")
    assert first is not None and first.astimezone(berlin).hour == 2
    later = parse("0 6 * * *").next_run(dt.datetime(2026, 3, 29, 3, 0, tzinfo=dt.UTC), "Europe/Berlin")
    assert later == dt.datetime(2026, 3, 29, 4, 0, tzinfo=dt.UTC)  # 06:00 summer time


@pytest.mark.parametrize(
    ("schedule", "says"),
    [
        ("0 3 * *", "has 4 fields; a schedule has five"),
        ("60 * * * *", "minute 60 is out of range; it goes from 0 to 59"),
        ("0 24 * * *", "hour 24 is out of range"),
        ("0 0 0 * *", "day of month 0 is out of range"),
        ("0 0 * 13 *", "month 13 is out of range"),
        ("0 0 * * 8", "weekday 8 is out of range"),
        # as the cluster's parser reads a schedule (checked against its API server: "end of range
        # (7) above maximum (6)", "unrecognized descriptor: @Daily"), unlike Vixie cron
        ("0 0 * * 7", "weekday 7 is out of range; it goes from 0 to 6; Sunday is 0 or sun"),
        ("0 0 * * 5-7", "weekday 7 is out of range"),
        ("@Daily", "'@Daily' is not a schedule shorthand; write '@daily'"),
        ("*/0 * * * *", "the minute step '/0' must be a whole number above 0"),
        ("5-1 * * * *", "runs backwards"),
        ("0 0 * foo *", "'foo' is not a month"),
        ("0 0 30 2 *", "never runs: no month has that day"),
        ("0 0 31 4,6,9,11 *", "never runs"),
        ("@every 5m", "@every is not supported"),
        ("@fortnightly", "is not a schedule shorthand"),
        ("TZ=Europe/Berlin 0 3 * * *", "goes in the job's timezone field"),
        ("? * * * *", "'?' stands only for a day of month or a weekday"),
        # digits and separators as the cluster reads them: ASCII (Python alone would take these)
        ("\u0661 3 * * *", "'\u0661' is not a minute"),  # ARABIC-INDIC DIGIT ONE
        ("0 3 * * \u0665", "'\u0665' is not a weekday"),
        ("\u00b2 3 * * *", "'\u00b2' is not a minute"),  # SUPERSCRIPT TWO, which int() refuses
        ("*/\u00b2 * * * *", "the minute step '/\u00b2' must be a whole number above 0"),
        ("*/" + "9" * 5000 + " * * * *", "the minute step"),  # more digits than int() converts
        ("0 3 * *\x1c*", "has 4 fields"),  # a separator to Python's split(), not to the cluster
    ],
)
def test_a_bad_schedule_is_refused_in_words(schedule: str, says: str) -> None:
    with pytest.raises(CronError, match=None) as err:
        parse(schedule)
    assert says in str(err.value)


@pytest.mark.parametrize("zone", ["Europe/Berlin", "UTC", "America/New_York"])
def test_time_zones_are_named_as_the_tz_database_names_them(zone: str) -> None:
    assert check_zone(zone) == zone


@pytest.mark.parametrize(
    "zone",
    [
        *("Mars/Olympus", "../../etc/passwd", " UTC", "/UTC", "Europe/"),
        # as the cluster refuses them: blank, a folder of the tz database, a part over 14
        # characters or starting with '-', 'Local', a name too long for the file system
        *(" ", "", "Europe", "America/Argentina", "Europe//Berlin", "-UTC", "Local", "local", "x" * 300),
    ],
)
def test_a_zone_that_is_not_one_is_refused(zone: str) -> None:
    with pytest.raises(CronError, match="is not a time zone"):
        check_zone(zone)


@given(st.text(max_size=300) | st.lists(st.sampled_from(["Europe", "..", ".", "x" * 20, ""])).map("/".join))
def test_any_text_is_a_time_zone_or_a_refusal_in_words(text: str) -> None:
    try:
        assert check_zone(text) == text
    except CronError as err:
        assert "is not a time zone" in str(err)


@given(
    st.text(max_size=80)
    | st.lists(st.sampled_from(["0", "3", "*", "\u0661", "\u00b2", " ", "\x1c"])).map("".join)
)
@example("\u00b2 3 * * *")
def test_any_text_is_a_schedule_or_a_refusal_in_words(text: str) -> None:
    try:
        schedule = parse(text)
    except CronError as err:
        assert str(err)
    else:
        assert schedule.runs_a_month() > 0
        assert text.isascii()  # every schedule the cluster takes is
