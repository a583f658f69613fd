"""Cron schedules as the cluster reads them (five fields, or @hourly and friends): parsed, checked
for times that never come, counted per month, and stepped to the next run in a time zone.

The syntax is the one Kubernetes CronJobs accept (robfig/cron's standard parser): `*`, `a`, `a-b`,
`*/n`, `a-b/n`, `a/n`, lists with commas, `?` for a day, month and weekday names. As there, when
both the day of month and the weekday are restricted, a day matching either one runs.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from unhazzle.shared.numbers import whole_number

MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
# (name, lowest, highest, names)
FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day of month", 1, 31, {}),
    ("month", 1, 12, {name: i + 1 for i, name in enumerate(MONTHS)}),
    ("weekday", 0, 6, {name: i for i, name in enumerate(DAYS)}),  # the cluster refuses 7
)
SAMPLE_START = dt.date(2024, 1, 1)  # four years, one of them leap: what a month averages to
SAMPLE_DAYS = 4 * 365 + 1
SEARCH_DAYS = 30 * 366  # a 29 February on a given weekday comes back within 28 years
MINUTES_A_DAY = 24 * 60
# Each part of a zone name as the cluster's CronJob validation allows it (kubernetes
# pkg/apis/batch/validation: validTimeZoneCharacters, after the tz database's naming rules): this
# also keeps a name from reaching the file system as a folder, a path or a name too long for it.
ZONE_PART = re.compile(r"[A-Za-z._\-0-9+]{1,14}")
# Fields are ASCII, as the cluster's parser (Go) reads them (see shared/numbers.py): Python's
# split() also splits on separators such as '\x1c' that Go does not
BLANKS = " \t\n\v\f\r"


class CronError(ValueError):
    """A schedule the cluster would refuse, or one that never runs; the message says which part."""


@dataclass(frozen=True)
class Schedule:
    text: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    any_day: bool  # the day of month was `*` or `?`
    any_weekday: bool

    def runs_on(self, day: dt.date) -> bool:
        if day.month not in self.months:
            return False
        by_day = day.day in self.days
        by_weekday = (day.isoweekday() % 7) in self.weekdays
        if self.any_day or self.any_weekday:
            return by_day and by_weekday
        return by_day or by_weekday

    @property
    def runs_a_day(self) -> int:
        return len(self.hours) * len(self.minutes)

    def runs_a_month(self) -> float:
        """Runs in an average month (over four years, one of them leap)."""
        days = sum(self.runs_on(SAMPLE_START + dt.timedelta(days=i)) for i in range(SAMPLE_DAYS))
        return days * self.runs_a_day / 48

    def most_at_once(self, seconds: int) -> int:
        """The most runs that can be in progress together when each may take *seconds*: the
        most start times in any span that long. Counted as if every day ran (days that do not
        only lower it), over enough days for a span of several."""
        today = sorted(hour * 60 + minute for hour in self.hours for minute in self.minutes)
        span = -(-seconds // 60)  # in whole minutes: a run started within them is still going
        days = span // MINUTES_A_DAY + 2
        starts = [day * MINUTES_A_DAY + start for day in range(days) for start in today]
        most, last = 0, 0
        for first, start in enumerate(starts[: len(today)]):  # a span beginning on the first day
            last = max(last, first)
            while last < len(starts) and starts[last] < start + span:
                last += 1
            most = max(most, last - first)
        return most

    def next_run(self, after: dt.datetime, zone: str = "UTC") -> dt.datetime | None:
        """The first run strictly after *after* (an aware time), in *zone*; None if none comes."""
        tz = _zone(zone)
        local = after.astimezone(tz)
        day = local.date()
        for _ in range(SEARCH_DAYS):
            if self.runs_on(day):
                for hour in sorted(self.hours):
                    for minute in sorted(self.minutes):
                        when = dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)
                        if when > after:
                            return when
            day += dt.timedelta(days=1)
        return None


def parse(text: str) -> Schedule:
    """The schedule *text*, or CronError saying what is wrong with it."""
    written = text.strip(BLANKS)
    if written.upper().startswith(("TZ=", "CRON_TZ=")):
        raise CronError("a time zone goes in the job's timezone field, not in its schedule")
    if written.startswith("@"):
        if written.lower() == "@every" or written.lower().startswith("@every "):
            raise CronError("@every is not supported; write the schedule in cron syntax, e.g. */15 * * * *")
        if written not in MACROS:  # the cluster knows them in lower case only
            known = ", ".join(sorted(MACROS))
            hint = f"write '{written.lower()}'" if written.lower() in MACROS else f"use one of {known}"
            raise CronError(f"'{written}' is not a schedule shorthand; {hint}")
        written = MACROS[written]
    parts = [part for part in re.split(f"[{BLANKS}]+", written) if part]
    if len(parts) != 5:
        raise CronError(
            f"'{text}' has {len(parts)} field{'s' if len(parts) != 1 else ''}; a schedule has five: "
            "minute hour day-of-month month weekday, e.g. '0 3 * * *' for 03:00 every day"
        )
    values = [_field(part, *spec) for part, spec in zip(parts, FIELDS, strict=True)]
    weekdays = frozenset(values[4])
    schedule = Schedule(
        text=text,
        minutes=values[0],
        hours=values[1],
        days=values[2],
        months=values[3],
        weekdays=weekdays,
        any_day=parts[2] in ("*", "?") or parts[2].startswith("*/"),
        any_weekday=parts[4] in ("*", "?") or parts[4].startswith("*/"),
    )
    if not _possible(schedule):
        raise CronError(f"'{text}' never runs: no month has that day")
    return schedule


def check_zone(zone: str) -> str:
    """*zone* if the cluster takes it as a CronJob's time zone (an IANA name), else CronError."""
    _zone(zone)
    return zone


def _zone(zone: str) -> ZoneInfo:
    """The time zone *zone* names, refused as the cluster refuses it: a part that is empty, '.',
    '..', starts with '-' or has other characters; 'Local'; a name the tz database lacks."""
    parts = zone.split("/")
    written = all(ZONE_PART.fullmatch(p) and p not in (".", "..") and not p.startswith("-") for p in parts)
    if written and zone.lower() != "local":
        try:
            return ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder such as 'Europe'
            pass
    raise CronError(f"'{zone}' is not a time zone; write one like Europe/Berlin or UTC")


def _possible(schedule: Schedule) -> bool:
    """Whether some day ever matches: only a day of month no listed month has can fail."""
    if schedule.any_day or not schedule.any_weekday:
        return True
    longest = {1: 31, 2: 29, 3: 31, 4: 30, 5: 31, 6: 30, 7: 31, 8: 31, 9: 30, 10: 31, 11: 30, 12: 31}
    return any(day <= longest[month] for month in schedule.months for day in schedule.days)


def _field(text: str, name: str, low: int, high: int, names: dict[str, int]) -> frozenset[int]:
    found: set[int] = set()
    for item in text.split(","):
        found |= _range(item, name, low, high, names)
    return frozenset(found)


def _range(item: str, name: str, low: int, high: int, names: dict[str, int]) -> set[int]:
    base, slash, step_text = item.partition("/")
    step = 1
    if slash:
        step = _number(step_text) or 0
        if step == 0:
            raise CronError(f"the {name} step '/{step_text}' must be a whole number above 0")
    if base in ("*", "?"):
        if base == "?" and name not in ("day of month", "weekday"):
            raise CronError(f"'?' stands only for a day of month or a weekday, not for the {name}")
        start, end = low, high
    elif "-" in base:
        first, _, last = base.partition("-")
        start, end = _value(first, name, low, high, names), _value(last, name, low, high, names)
        if start > end:
            raise CronError(f"the {name} range '{base}' runs backwards; write the smaller value first")
    else:
        start = _value(base, name, low, high, names)
        end = high if slash else start
    return set(range(start, end + 1, step))


def _value(text: str, name: str, low: int, high: int, names: dict[str, int]) -> int:
    lowered = text.lower()
    if lowered in names:
        return names[lowered]
    value = _number(text)
    if value is None:
        what = f" or a name ({', '.join(names)})" if names else ""
        raise CronError(f"'{text}' is not a {name}; write a number from {low} to {high}{what}")
    if not low <= value <= high:
        sunday = "; Sunday is 0 or sun" if name == "weekday" and value == 7 else ""
        raise CronError(f"{name} {value} is out of range; it goes from {low} to {high}{sunday}")
    return value


def _number(text: str) -> int | None:
    return whole_number(text, most_digits=4)  # (a cron field needs no more)
