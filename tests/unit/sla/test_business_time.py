"""Business time, worked examples: due instants and elapsed time to the minute, DST days, holidays,
open days and closed dates, the never-open calendar, speed, and calendar validation."""

from __future__ import annotations

import time as clock
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from services.sla.domain.business_time import (
    ALWAYS_OPEN,
    NeverOpen,
    add,
    calendar_problems,
    elapsed,
    is_open,
    open_intervals,
)
from services.sla.domain.model import Calendar, Interval

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
HOUR = timedelta(hours=1)


def hours(*spans: str) -> tuple[Interval, ...]:
    """hours("08:00-12:00", "13:00-17:00")"""
    return tuple(
        Interval(start=time.fromisoformat(a), end=time.fromisoformat(b)) for a, b in (s.split("-") for s in spans)
    )


def weekdays(*spans: str, zone: str = "Europe/Berlin", **fields: Any) -> Calendar:
    """Mon-Fri with the given hours, weekends closed."""
    return Calendar(id="office", time_zone=zone, weekly=(hours(*spans),) * 5 + ((), ()), **fields)


def berlin(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN)


# --- due instants and elapsed time ---------------------------------------------------------------


def test_four_hours_from_friday_afternoon_are_due_on_monday_morning() -> None:
    office = weekdays("08:00-17:00")
    due = add(office, berlin(2026, 11, 27, 16), 4 * HOUR)  # a Friday
    assert due == berlin(2026, 11, 30, 11)
    assert due.tzinfo is UTC
    assert elapsed(office, berlin(2026, 11, 27, 16), due) == 4 * HOUR


def test_sixteen_hours_on_an_eight_hour_day_end_with_the_second_business_day() -> None:
    office = weekdays("09:00-17:00")
    assert add(office, berlin(2026, 11, 23, 9), 16 * HOUR) == berlin(2026, 11, 24, 17)


def test_german_christmas_holidays_are_skipped() -> None:
    office = weekdays("09:00-17:00", holidays_country="DE")
    # Thursday 24 Dec 16:00; Friday 25 and Saturday 26 are holidays, then the weekend
    assert add(office, berlin(2026, 12, 24, 16), 2 * HOUR) == berlin(2026, 12, 28, 10)
    assert elapsed(office, berlin(2026, 12, 24), berlin(2026, 12, 29)) == 16 * HOUR
    assert not is_open(office, berlin(2026, 12, 25, 12))


def test_a_holiday_in_a_subdivision_only_counts_there() -> None:
    bavaria = weekdays("09:00-17:00", holidays_country="DE", holidays_subdivision="BY")
    berlin_office = weekdays("09:00-17:00", holidays_country="DE", holidays_subdivision="BE")
    epiphany = (berlin(2026, 1, 6), berlin(2026, 1, 7))  # a Tuesday, a holiday in Bavaria only
    assert elapsed(bavaria, *epiphany) == timedelta(0)
    assert elapsed(berlin_office, *epiphany) == 8 * HOUR


def test_an_overnight_shift_counts_across_midnight() -> None:
    nights = Calendar(id="nights", time_zone="Europe/Berlin", weekly=(hours("22:00-06:00"),) + ((),) * 6)
    assert elapsed(nights, berlin(2026, 11, 30), berlin(2026, 12, 2)) == 8 * HOUR  # Monday 22:00 to Tuesday 06:00
    assert add(nights, berlin(2026, 11, 30, 12), 3 * HOUR) == berlin(2026, 12, 1, 1)
    assert is_open(nights, berlin(2026, 12, 1, 5, 59))
    assert not is_open(nights, berlin(2026, 12, 1, 6))


def test_a_holiday_cancels_its_own_shifts_not_the_one_running_into_it() -> None:
    nights = Calendar(
        id="n",
        time_zone="Europe/Berlin",
        weekly=(hours("22:00-06:00"),) * 7,
        closed_dates=frozenset({date(2026, 12, 1)}),
    )
    assert [
        (a.astimezone(BERLIN), b.astimezone(BERLIN))
        for a, b in open_intervals(nights, berlin(2026, 11, 30, 12), berlin(2026, 12, 3))
    ] == [
        (berlin(2026, 11, 30, 22), berlin(2026, 12, 1, 6)),
        (berlin(2026, 12, 2, 22), berlin(2026, 12, 3)),
    ]


@pytest.mark.parametrize(("day", "length"), [(date(2026, 3, 8), 23 * HOUR), (date(2026, 11, 1), 25 * HOUR)])
def test_new_york_dst_days_on_an_around_the_clock_calendar(day: date, length: timedelta) -> None:
    always_ny = Calendar(id="ny", time_zone="America/New_York", weekly=(hours("00:00-00:00"),) * 7)
    midnight = datetime.combine(day, time(0), NEW_YORK)
    assert elapsed(always_ny, midnight, datetime.combine(day + timedelta(days=1), time(0), NEW_YORK)) == length
    # aware arithmetic in one zone is wall-clock arithmetic: three real days need UTC
    assert elapsed(ALWAYS_OPEN, midnight, midnight.astimezone(UTC) + timedelta(days=3)) == timedelta(days=3)


def test_an_interval_opening_inside_the_spring_forward_gap_opens_when_the_clock_gets_there() -> None:
    early = Calendar(id="early", time_zone="America/New_York", weekly=(hours("02:30-05:00"),) * 7)
    spring = list(open_intervals(early, datetime(2026, 3, 8, tzinfo=NEW_YORK), datetime(2026, 3, 9, tzinfo=NEW_YORK)))
    assert spring == [(datetime(2026, 3, 8, 7, tzinfo=UTC), datetime(2026, 3, 8, 9, tzinfo=UTC))]  # 03:00-05:00 EDT


def test_a_repeated_autumn_hour_counts_twice() -> None:
    repeated = Calendar(id="r", time_zone="America/New_York", weekly=(hours("01:00-01:30"),) * 7)
    assert elapsed(repeated, datetime(2026, 11, 1, tzinfo=NEW_YORK), datetime(2026, 11, 2, tzinfo=NEW_YORK)) == HOUR


def test_an_open_day_on_a_saturday_is_counted() -> None:
    launch = weekdays("09:00-17:00", open_days={date(2026, 11, 28): hours("10:00-14:00")})
    assert elapsed(launch, berlin(2026, 11, 28), berlin(2026, 11, 30)) == 4 * HOUR
    assert add(launch, berlin(2026, 11, 27, 16), 2 * HOUR) == berlin(2026, 11, 28, 11)


def test_an_open_day_overrides_a_holiday() -> None:
    office = weekdays("09:00-17:00", holidays_country="DE", open_days={date(2026, 12, 25): hours("09:00-12:00")})
    assert elapsed(office, berlin(2026, 12, 25), berlin(2026, 12, 26)) == 3 * HOUR


def test_a_closed_date_is_skipped() -> None:
    office = weekdays("09:00-17:00", closed_dates=frozenset({date(2026, 11, 24)}))
    assert add(office, berlin(2026, 11, 23, 16), 2 * HOUR) == berlin(2026, 11, 25, 10)


def test_zero_and_backwards() -> None:
    office = weekdays("09:00-17:00")
    saturday = berlin(2026, 11, 28, 12)
    assert add(office, saturday, timedelta(0)) == saturday
    assert elapsed(office, berlin(2026, 11, 25), berlin(2026, 11, 24)) == timedelta(0)
    assert list(open_intervals(office, berlin(2026, 11, 25), berlin(2026, 11, 24))) == []
    with pytest.raises(ValueError, match="negative"):
        add(office, saturday, -HOUR)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        elapsed(ALWAYS_OPEN, datetime(2026, 1, 1), datetime(2026, 1, 2, tzinfo=UTC))


def test_a_calendar_that_never_opens_says_so_instead_of_looping() -> None:
    closed = Calendar(id="closed", open_days={date(2026, 12, 1): hours("09:00-10:00")})
    assert add(closed, datetime(2026, 11, 1, tzinfo=UTC), HOUR) == datetime(2026, 12, 1, 10, tzinfo=UTC)
    with pytest.raises(NeverOpen, match="closed"):
        add(closed, datetime(2026, 11, 1, tzinfo=UTC), 2 * HOUR)


def test_always_open_is_utc_around_the_clock() -> None:
    start = datetime(2026, 3, 29, 0, 30, tzinfo=BERLIN)
    assert add(ALWAYS_OPEN, start, timedelta(days=2, minutes=1)) == datetime(
        2026, 3, 30, 23, 31, tzinfo=UTC
    )  # 00:30 CET is 23:30Z
    assert ALWAYS_OPEN.id == "always"
    assert calendar_problems(ALWAYS_OPEN) == []


# --- speed ----------------------------------------------------------------------------------------


def fastest(call: Any, repeat: int = 20) -> float:
    best = float("inf")
    for _ in range(repeat):
        began = clock.perf_counter()
        call()
        best = min(best, clock.perf_counter() - began)
    return best


def test_thirty_business_days_are_added_in_under_5_ms() -> None:
    office = weekdays("09:00-17:00", holidays_country="DE", holidays_subdivision="BY")
    start = berlin(2026, 11, 20, 15)
    assert fastest(lambda: add(office, start, 30 * 8 * HOUR)) < 0.005


def test_sixteen_business_hours_are_added_well_under_a_millisecond() -> None:
    office = weekdays("09:00-17:00")
    assert fastest(lambda: add(office, berlin(2026, 11, 23, 9), 16 * HOUR)) < 0.0005


# --- calendar validation --------------------------------------------------------------------------


def test_a_good_calendar_has_no_problems() -> None:
    office = weekdays("08:00-12:00", "13:00-17:00", holidays_country="DE", holidays_subdivision="BY")
    assert calendar_problems(office) == []


def test_every_problem_is_reported_at_once_by_field_path() -> None:
    weekly = (
        hours("08:00-12:00", "11:00-13:00", "22:00-06:00"),  # Monday: an overlap, and a night into Tuesday
        hours("05:00-09:00", "10:00-10:00"),  # Tuesday: overlapped by Monday night; a zero-length interval
        (),
        (),
        (),
        (),
        hours("00:00-00:00"),  # Sunday: the whole day is fine
    )
    cal = Calendar(id="bad", time_zone="Mars/Base", weekly=weekly, holidays_country="DE", holidays_subdivision="XX")
    assert {path for path, _ in calendar_problems(cal)} == {
        "time_zone",
        "holidays_subdivision",
        "weekly.0.1",
        "weekly.0.2",
        "weekly.1.1",
    }
    problems = dict(calendar_problems(cal))
    assert problems["time_zone"].startswith("unknown IANA time zone 'Mars/Base'")
    assert problems["weekly.0.1"] == "overlaps 08:00-12:00 on Monday"
    assert problems["weekly.0.2"] == "runs until 06:00 on Tuesday and overlaps 05:00-09:00 there"
    assert "no length" in problems["weekly.1.1"]
    assert "'XX' is not a subdivision of DE" in problems["holidays_subdivision"]


def test_a_sunday_night_shift_runs_into_monday() -> None:
    cal = Calendar(id="c", weekly=(hours("05:00-09:00"),) + ((),) * 5 + (hours("23:00-06:00"),))
    assert calendar_problems(cal) == [("weekly.6.0", "runs until 06:00 on Monday and overlaps 05:00-09:00 there")]


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"weekly": ((),) * 6}, [("weekly", "has 6 entries; it needs 7, Monday first (an empty one is a closed day)")]),
        (
            {"holidays_country": "XX"},
            [("holidays_country", "unknown country 'XX' for public holidays; use an ISO 3166 code such as DE or US")],
        ),
        (
            {"holidays_subdivision": "BY"},
            [("holidays_subdivision", "subdivision 'BY' needs holidays_country, the country it belongs to")],
        ),
        ({"time_zone": ""}, [("time_zone", "unknown IANA time zone ''; use a name such as Europe/Berlin or UTC")]),
    ],
)
def test_calendar_level_problems(fields: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    assert calendar_problems(Calendar(id="c", **fields)) == expected


def test_open_day_problems_name_the_date() -> None:
    cal = weekdays(
        "09:00-17:00",
        open_days={
            date(2026, 11, 28): hours("10:00-14:00", "13:00-15:00", "23:00-10:00"),  # Saturday; Sunday is closed
            date(2026, 11, 29): hours("08:00-12:00"),  # Sunday: Saturday's night runs into it
            date(2026, 12, 1): hours("07:00-07:00"),
        },
    )
    assert calendar_problems(cal) == [
        ("open_days.2026-11-28.1", "overlaps 10:00-14:00 on Saturday 2026-11-28"),
        ("open_days.2026-11-28.2", "runs until 10:00 on Sunday 2026-11-29 and overlaps 08:00-12:00 there"),
        ("open_days.2026-12-01.0", "starts and ends at 07:00, so it has no length; 00:00-00:00 is the whole day"),
    ]


def test_a_weekly_night_shift_running_into_an_open_day_is_reported_on_the_open_day() -> None:
    cal = Calendar(
        id="c",
        weekly=((),) * 4 + (hours("22:00-06:00"),) + ((),) * 2,  # Friday nights
        open_days={date(2026, 11, 28): hours("05:00-09:00")},
    )
    assert calendar_problems(cal) == [
        ("open_days.2026-11-28.0", "overlaps Friday 2026-11-27's overnight shift 22:00-06:00"),
    ]


def test_arithmetic_refuses_a_week_without_seven_days() -> None:
    with pytest.raises(ValueError, match="6 weekly entries"):
        is_open(Calendar(id="short", weekly=((),) * 6), datetime(2026, 1, 1, tzinfo=UTC))
