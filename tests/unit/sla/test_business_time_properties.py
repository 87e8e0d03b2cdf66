"""Business time against a brute-force reference that looks at each minute's wall-clock time on its own.

Random calendars (overnight shifts, whole days, closed days, holidays, closed dates, open days) in six
time zones, with start instants biased towards DST transitions in both directions and holidays.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import holidays
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.sla.domain.business_time import NeverOpen, add, elapsed, is_open, open_intervals
from services.sla.domain.model import Calendar, Interval

ZONES = ("America/New_York", "Europe/Berlin", "Australia/Sydney", "Asia/Kolkata", "UTC", "Europe/London")
MINUTE = timedelta(minutes=1)
PROPERTY = settings(deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))


# --- the reference ---------------------------------------------------------------------------------


@cache
def public_holidays(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays(country, subdiv=subdivision, years=year))


def reference_hours(cal: Calendar, day: date) -> tuple[Interval, ...]:
    if day in cal.open_days:
        return cal.open_days[day]
    if day in cal.closed_dates:
        return ()
    if cal.holidays_country and day in public_holidays(cal.holidays_country, cal.holidays_subdivision, day.year):
        return ()
    return cal.weekly[day.weekday()]


def reference(cal: Calendar) -> Callable[[datetime], bool]:
    """is-open for one instant, from its wall clock: today's intervals, or yesterday's overnight ones."""
    zone = ZoneInfo(cal.time_zone)
    hours: dict[date, tuple[Interval, ...]] = {}

    def day_hours(day: date) -> tuple[Interval, ...]:
        if day not in hours:
            hours[day] = reference_hours(cal, day)
        return hours[day]

    def open_at(instant: datetime) -> bool:
        wall = instant.astimezone(zone)
        clock, today = wall.time(), wall.date()
        for interval in day_hours(today):
            overnight = interval.end <= interval.start
            if interval.start <= clock and (overnight or clock < interval.end):
                return True
        return any(i.end <= i.start and clock < i.end for i in day_hours(today - timedelta(days=1)))

    return open_at


def reference_minutes(cal: Calendar, start: datetime, minutes: int) -> list[bool]:
    """Open or not, minute by minute from `start` (UTC, so that adding minutes is adding real time)."""
    open_at = reference(cal)
    return [open_at(start + k * MINUTE) for k in range(minutes)]


def runs(start: datetime, flags: list[bool]) -> list[tuple[datetime, datetime]]:
    """The open minutes as merged [start, end) spans."""
    spans: list[tuple[datetime, datetime]] = []
    for k, flag in enumerate(flags):
        if not flag:
            continue
        instant = start + k * MINUTE
        if spans and spans[-1][1] == instant:
            spans[-1] = (spans[-1][0], instant + MINUTE)
        else:
            spans.append((instant, instant + MINUTE))
    return spans


# --- the generators --------------------------------------------------------------------------------


def transitions(zone_name: str) -> list[datetime]:
    """When the zone's offset changes, 2024-2028 (on the hour in UTC, for these zones)."""
    zone, found = ZoneInfo(zone_name), []
    instant = datetime(2024, 1, 1, tzinfo=UTC)
    offset = instant.astimezone(zone).utcoffset()
    while instant.year < 2029:
        instant += timedelta(hours=1)
        if (later := instant.astimezone(zone).utcoffset()) != offset:
            found.append(instant)
            offset = later
    return found


TRANSITIONS = {name: transitions(name) for name in ZONES}
SPECIAL_DAYS = [date(year, m, d) for year in range(2024, 2029) for m, d in ((12, 24), (12, 31), (5, 1), (7, 3))]

SPECIAL_TIMES = (time(0), time(1), time(1, 30), time(2), time(2, 30), time(3), time(2, 45), time(8), time(17), time(22))


def wall_time(k: int) -> time:
    """One draw per time, for speed: a DST-prone or common time, a quarter hour, or any minute."""
    if k < 1000:
        return SPECIAL_TIMES[k % len(SPECIAL_TIMES)]
    minute = (k - 1000) * 15 if k < 1096 else k - 1096
    return time(minute // 60, minute % 60)


TIMES = st.integers(0, 1096 + 1439).map(wall_time)
DAY_HOURS = st.one_of(
    st.just(()),
    st.just((Interval(start=time(0), end=time(0)),)),
    st.lists(st.tuples(TIMES, TIMES), min_size=1, max_size=3).map(
        lambda ts: tuple(Interval(start=a, end=b) for a, b in ts)
    ),
)
HOLIDAYS = st.sampled_from(
    [
        (None, None),
        ("US", None),
        ("US", "CA"),
        ("US", "NY"),
        ("DE", None),
        ("DE", "BY"),
        ("DE", "BE"),
        ("GB", "ENG"),
        ("AU", "NSW"),
        ("IN", None),
    ]
)


MIDNIGHTS = {
    name: [datetime.combine(day, time(0), ZoneInfo(name)).astimezone(UTC) for day in SPECIAL_DAYS] for name in ZONES
}
Case = tuple[Calendar, datetime, int, ZoneInfo | None]


@st.composite
def cases(draw: st.DrawFn, longest: int = 4 * 24 * 60) -> Case:
    """A calendar, a UTC start instant on a minute boundary, a span in minutes (up to `longest`), and
    the zone (or None for UTC) the instants are handed over in. Starts fall near the zone's DST
    transitions (half the spans then cross one), near holidays, or anywhere in 2024-2028."""
    zone_name = draw(st.sampled_from(ZONES))
    zone = ZoneInfo(zone_name)
    kind = draw(st.sampled_from(["dst", "dst", "holiday", "anywhere"]))
    rnd = draw(st.randoms(use_true_random=True))  # seeded by hypothesis; its own integers favour small ones
    minutes = rnd.randint(0, rnd.choice([8 * 60, longest]))
    if kind == "dst" and TRANSITIONS[zone_name]:
        transition = rnd.choice(TRANSITIONS[zone_name])
        start = transition - rnd.randint(-24 * 60, 2 * 24 * 60) * MINUTE
        if rnd.random() < 0.5:
            minutes = min(longest, max(0, (transition - start) // MINUTE) + rnd.randint(0, 24 * 60))
    elif kind in ("dst", "holiday"):
        start = rnd.choice(MIDNIGHTS[zone_name]) + rnd.randint(-24 * 60, 48 * 60) * MINUTE
    else:
        start = datetime(2024, 1, 1, tzinfo=UTC) + rnd.randint(0, 5 * 365 * 24 * 60) * MINUTE
    today = start.astimezone(zone).date()
    country, subdivision = draw(HOLIDAYS)
    cal = Calendar(
        id="random",
        time_zone=zone_name,
        weekly=tuple(draw(DAY_HOURS) for _ in range(7)),
        holidays_country=country,
        holidays_subdivision=subdivision,
        closed_dates=frozenset(today + timedelta(days=k) for k in draw(st.frozensets(NEARBY, max_size=3))),
        open_days={
            today + timedelta(days=k): hours
            for k, hours in draw(st.dictionaries(NEARBY, DAY_HOURS, max_size=3)).items()
        },
    )
    return cal, start, minutes, zone if draw(st.booleans()) else None


NEARBY = st.integers(-2, 5)  # days from the start's local date, for closed dates and open days


def shown(instant: datetime, zone: ZoneInfo | None) -> datetime:
    """The same instant, in the zone the caller happens to use (arithmetic stays in UTC)."""
    return instant if zone is None else instant.astimezone(zone)


# --- the properties --------------------------------------------------------------------------------


@settings(PROPERTY, max_examples=1500)
@given(cases())
def test_elapsed_and_open_intervals_match_the_minute_by_minute_reference(case: Case) -> None:
    cal, start, minutes, zone = case
    end = start + minutes * MINUTE
    flags = reference_minutes(cal, start, minutes)
    assert elapsed(cal, shown(start, zone), shown(end, zone)) == sum(flags) * MINUTE
    assert list(open_intervals(cal, shown(start, zone), shown(end, zone))) == runs(start, flags)
    # is_open at each edge of the reference's spans, where mistakes live
    for k in {k for k in range(minutes) if k in (0, minutes - 1) or flags[k] != flags[k - 1]}:
        assert is_open(cal, shown(start + k * MINUTE, zone)) is flags[k]


@settings(PROPERTY, max_examples=3500)
@given(cases(longest=0), st.integers(-10, 10))
def test_is_open_matches_the_reference(case: Case, seconds: int) -> None:
    cal, start, _, zone = case
    instant = start + timedelta(seconds=seconds)
    assert is_open(cal, shown(instant, zone)) is reference(cal)(instant)


@settings(PROPERTY, max_examples=2500)
@given(cases())
def test_add_of_the_elapsed_time_lands_no_later_than_the_end(case: Case) -> None:
    cal, start, minutes, zone = case
    end = start + minutes * MINUTE
    spent = elapsed(cal, start, end)
    due = add(cal, shown(start, zone), spent)
    assert start <= due <= end
    assert elapsed(cal, start, due) == spent
    assert due.tzinfo is UTC


@settings(PROPERTY, max_examples=2500)
@given(cases(), st.sampled_from([MINUTE, timedelta(seconds=1), timedelta(microseconds=1)]))
def test_add_is_the_earliest_instant_with_that_much_business_time(case: Case, unit: timedelta) -> None:
    cal, start, minutes, zone = case
    duration = minutes * unit
    try:
        due = add(cal, shown(start, zone), duration)
    except NeverOpen:
        assert not any(cal.weekly)
        assert elapsed(cal, start, start + timedelta(days=3 * 365)) < duration
        return
    assert due >= start
    assert elapsed(cal, start, due) == duration
    if duration:
        just_before = due - timedelta(microseconds=1)
        assert elapsed(cal, start, just_before) < duration
        assert is_open(cal, just_before)
