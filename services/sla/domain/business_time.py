"""Business-time arithmetic on a `Calendar`: is it open, the open spans in a range, business time
elapsed between two instants, and the instant a business duration after another. Pure, no I/O.

Semantics (wall-clock time in `cal.time_zone`):
- A local date's hours are `open_days[date]` if present (overriding everything), else none if the
  date is in `closed_dates` or a public holiday of `holidays_country`/`holidays_subdivision`,
  else `weekly[date.weekday()]`.
- An interval belongs to the date it starts on and covers the wall times [date+start, date+end),
  or [date+start, next date+end) when end <= start (overnight; 00:00-00:00 is the whole day).
- An instant is open iff its wall time lies in such a span of its own local date or of the
  previous one: so a Tuesday holiday cancels Tuesday's shifts, not Monday's 22:00-06:00.
- DST follows: wall times skipped by spring-forward never occur (an interval opening at 02:30 on
  that day opens at the first real instant after the gap), and a repeated autumn hour counts twice
  wherever its wall time is open.
All inputs are aware datetimes, every output is UTC. `elapsed` and `add` walk date by date.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

from services.sla.domain.model import Calendar, Interval

__all__ = ["ALWAYS_OPEN", "NeverOpen", "add", "calendar_problems", "elapsed", "is_open", "open_intervals"]

_WHOLE_DAY = (Interval(start=time(0), end=time(0)),)
ALWAYS_OPEN = Calendar(id="always", name="Around the clock", time_zone="UTC", weekly=(_WHOLE_DAY,) * 7)

_DAY = timedelta(days=1)
# every UTC offset ever used lies within a day, so local date D's wall times fall in UTC [D - 1d, D + 1d]
_MARGIN = _DAY
_SAMPLE = timedelta(hours=3)  # offsets are sampled this often; zones never change twice within 3 h
_NEVER_OPEN_AFTER = timedelta(days=3 * 366)
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

_Span = tuple[datetime, datetime]  # naive UTC, [start, end)


class NeverOpen(ValueError):
    """The calendar has no open time in the ~3 years after the start: nothing can ever be due."""


def is_open(cal: Calendar, instant: datetime) -> bool:
    """Whether `instant` is inside the calendar's opening hours."""
    wall = _utc(instant).replace(tzinfo=UTC).astimezone(_zone(cal.time_zone)).replace(tzinfo=None)
    for day in (wall.date(), wall.date() - _DAY):
        if any(start <= wall < end for start, end in _wall_spans(cal, day)):
            return True
    return False


def open_intervals(cal: Calendar, start: datetime, end: datetime) -> Iterator[tuple[datetime, datetime]]:
    """The open spans inside [start, end), in UTC, merged where contiguous."""
    lo, hi = _utc(start), _utc(end)
    current: _Span | None = None
    for a, b in _pieces(cal, lo, hi):
        if a >= hi:
            break
        b = min(b, hi)
        if current is not None and a == current[1]:
            current = (current[0], b)
            continue
        if current is not None:
            yield current[0].replace(tzinfo=UTC), current[1].replace(tzinfo=UTC)
        current = (a, b)
    if current is not None:
        yield current[0].replace(tzinfo=UTC), current[1].replace(tzinfo=UTC)


def elapsed(cal: Calendar, start: datetime, end: datetime) -> timedelta:
    """Business time between two instants; zero if `end` <= `start`."""
    lo, hi = _utc(start), _utc(end)
    total = timedelta(0)
    for a, b in _pieces(cal, lo, hi):
        if a >= hi:
            break
        total += min(b, hi) - a
    return total


def add(cal: Calendar, start: datetime, duration: timedelta) -> datetime:
    """The earliest instant t >= `start` with `elapsed(cal, start, t) == duration`."""
    if duration < timedelta(0):
        raise ValueError(f"a business duration cannot be negative: {duration}")
    lo = _utc(start)
    if not duration:
        return lo.replace(tzinfo=UTC)
    remaining = duration
    for a, b in _pieces(cal, lo, None):
        if b - a >= remaining:
            return (a + remaining).replace(tzinfo=UTC)
        remaining -= b - a
    raise NeverOpen(f"calendar {cal.id!r} has no open time in the 3 years after {lo.isoformat()}Z")


# --- the walk: disjoint open pieces in time order -----------------------------------------------


def _pieces(cal: Calendar, lo: datetime, hi: datetime | None) -> Iterator[_Span]:
    """Disjoint open spans (naive UTC) from `lo` on, in order, possibly touching. Without `hi` the walk
    goes on while the calendar has been open at least once in the last 3 years."""
    if hi is not None and hi <= lo:
        return
    zone = _zone(cal.time_zone)
    day = (lo - 2 * _DAY - _MARGIN).date()  # the earliest local date whose spans can reach `lo`
    last_open = day
    pending: list[_Span] = []
    while True:
        floor = datetime.combine(day, time(0)) - _MARGIN  # spans of `day` and later start here or after
        if hi is not None and floor >= hi:
            break
        if hi is None and floor - datetime.combine(last_open, time(0)) > _NEVER_OPEN_AFTER:
            break
        pending = yield from _settle(pending, floor, lo)
        walls = _wall_spans(cal, day)
        if walls:
            last_open = day
            pieces = _offset_pieces(zone, day - _DAY, day + 3 * _DAY)
            pending.extend(span for wall in walls for span in _to_utc(wall, pieces))
        day += _DAY
    yield from _settle(pending, datetime.max, lo)


def _settle(pending: list[_Span], floor: datetime, lo: datetime) -> Generator[_Span, None, list[_Span]]:
    """Yield the union of `pending` below `floor` (clipped to `lo`) and return what lies above it."""
    merged: list[_Span] = []
    for a, b in sorted(pending):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    rest: list[_Span] = []
    for a, b in merged:
        if a < floor and max(a, lo) < min(b, floor):
            yield max(a, lo), min(b, floor)
        if b > floor:
            rest.append((max(a, floor), b))
    return rest


def _to_utc(wall: _Span, pieces: list[tuple[datetime, datetime, timedelta]]) -> Iterator[_Span]:
    """The instants whose wall time lies in `wall`: in each stretch of constant offset, wall - offset."""
    for a, b, offset in pieces:
        start, end = max(a, wall[0] - offset), min(b, wall[1] - offset)
        if start < end:
            yield start, end


def _wall_spans(cal: Calendar, day: date) -> list[_Span]:
    """The wall-clock spans of the intervals that start on `day`."""
    spans = []
    for interval in _hours(cal, day):
        start, end = interval.start.replace(tzinfo=None), interval.end.replace(tzinfo=None)
        wall_start = datetime.combine(day, start)
        spans.append((wall_start, datetime.combine(day + _DAY if end <= start else day, end)))
    return spans


def _hours(cal: Calendar, day: date) -> tuple[Interval, ...]:
    if day in cal.open_days:
        return cal.open_days[day]
    if len(cal.weekly) != 7:
        raise ValueError(f"calendar {cal.id!r} has {len(cal.weekly)} weekly entries, not 7")
    if day in cal.closed_dates:
        return ()
    if cal.holidays_country and day in _holidays(cal.holidays_country, cal.holidays_subdivision, day.year):
        return ()
    return cal.weekly[day.weekday()]


@lru_cache(maxsize=1024)
def _holidays(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays(country, subdiv=subdivision, years=year))


@lru_cache(maxsize=256)
def _zone(name: str) -> tzinfo:
    return UTC if name == "UTC" else ZoneInfo(name)


def _offset_pieces(zone: tzinfo, first: date, last: date) -> list[tuple[datetime, datetime, timedelta]]:
    """Stretches [a, b) of naive UTC time with one UTC offset, covering UTC days first..last-1."""
    pieces: list[tuple[datetime, datetime, timedelta]] = []
    for ordinal in range(first.toordinal(), last.toordinal()):
        for a, b, offset in _day_offsets(zone, ordinal):
            if pieces and pieces[-1][2] == offset and pieces[-1][1] == a:
                pieces[-1] = (pieces[-1][0], b, offset)
            else:
                pieces.append((a, b, offset))
    return pieces


@lru_cache(maxsize=16384)
def _day_offsets(zone: tzinfo, ordinal: int) -> tuple[tuple[datetime, datetime, timedelta], ...]:
    """One UTC day split where the zone's offset changes, found by sampling and bisection to the second."""
    day_start = datetime.combine(date.fromordinal(ordinal), time(0))
    day_end = day_start + _DAY
    pieces: list[tuple[datetime, datetime, timedelta]] = []
    a, offset = day_start, _offset(zone, day_start)
    sample = day_start
    while sample < day_end:
        following = min(sample + _SAMPLE, day_end)
        later = _offset(zone, following)
        if later != offset:
            low, high = sample, following  # the change happens in (low, high]
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) // 2
                middle -= timedelta(microseconds=middle.microsecond)
                if _offset(zone, middle) == offset:
                    low = middle
                else:
                    high = middle
            pieces.append((a, high, offset))
            a, offset = high, later
        sample = following
    if a < day_end:
        pieces.append((a, day_end, offset))
    return tuple(pieces)


def _offset(zone: tzinfo, naive_utc: datetime) -> timedelta:
    return naive_utc.replace(tzinfo=UTC).astimezone(zone).utcoffset() or timedelta(0)


def _utc(instant: datetime) -> datetime:
    """`instant` as naive UTC; naive input is refused, since its meaning depends on the host."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"business time needs timezone-aware datetimes, got {instant.isoformat()}")
    return instant.astimezone(UTC).replace(tzinfo=None)


# --- validation, for saving a calendar ----------------------------------------------------------


def calendar_problems(cal: Calendar) -> list[tuple[str, str]]:
    """Every reason the calendar cannot be saved, as (field path, message) pairs; empty when it can."""
    problems = _zone_problems(cal.time_zone) + _holiday_problems(cal)
    week = len(cal.weekly) == 7
    if not week:
        problems.append(
            ("weekly", f"has {len(cal.weekly)} entries; it needs 7, Monday first (an empty one is a closed day)")
        )
    for i, hours in enumerate(cal.weekly):
        problems += _day_problems(f"weekly.{i}", hours, _WEEKDAYS[i] if week else f"day {i}")
    for i in range(7 if week else 0):
        j = (i + 1) % 7
        problems += _spill_problems(
            (f"weekly.{i}", cal.weekly[i], _WEEKDAYS[i]), (f"weekly.{j}", cal.weekly[j], _WEEKDAYS[j])
        )
    for day, hours in sorted(cal.open_days.items()):
        here = (f"open_days.{day.isoformat()}", hours, _label(day))
        problems += _day_problems(*here)
        if not week:
            continue
        after, before = day + _DAY, day - _DAY
        problems += _spill_problems(here, (f"open_days.{after.isoformat()}", _usual_hours(cal, after), _label(after)))
        if before not in cal.open_days:
            problems += _spill_problems(("", _usual_hours(cal, before), _label(before)), here, blame_first=False)
    return problems


_Day = tuple[str, tuple[Interval, ...], str]  # field path, intervals, how to name the day


def _zone_problems(name: str) -> list[tuple[str, str]]:
    try:
        _zone(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return [("time_zone", f"unknown IANA time zone {name!r}; use a name such as Europe/Berlin or UTC")]
    return []


def _holiday_problems(cal: Calendar) -> list[tuple[str, str]]:
    country, subdivision = cal.holidays_country, cal.holidays_subdivision
    supported = holidays.list_supported_countries()
    if country is not None and country not in supported:
        return [
            (
                "holidays_country",
                f"unknown country {country!r} for public holidays; use an ISO 3166 code such as DE or US",
            )
        ]
    if subdivision is None:
        return []
    if country is None:
        return [
            ("holidays_subdivision", f"subdivision {subdivision!r} needs holidays_country, the country it belongs to")
        ]
    known = supported[country]
    if subdivision not in known:
        listed = ", ".join(known[:20]) + (", ..." if len(known) > 20 else "") if known else "none"
        return [("holidays_subdivision", f"{subdivision!r} is not a subdivision of {country} (known: {listed})")]
    return []


def _day_problems(path: str, hours: tuple[Interval, ...], label: str) -> list[tuple[str, str]]:
    problems = []
    for j, interval in enumerate(hours):
        if interval.start.tzinfo is not None or interval.end.tzinfo is not None:
            problems.append(
                (f"{path}.{j}", "times are local wall-clock times in the calendar's time zone: drop the UTC offset")
            )
        elif interval.start == interval.end and interval.start != time(0):
            problems.append(
                (
                    f"{path}.{j}",
                    f"starts and ends at {_hhmm(interval.start)}, so it has no length; 00:00-00:00 is the whole day",
                )
            )
    for j, later in enumerate(hours):
        for earlier in hours[:j]:
            (a, b), (c, d) = _minutes(earlier), _minutes(later)
            if a < d and c < b:
                problems.append((f"{path}.{j}", f"overlaps {_range(earlier)} on {label}"))
                break
    return problems


def _spill_problems(first: _Day, second: _Day, *, blame_first: bool = True) -> list[tuple[str, str]]:
    """Overnight shifts of the first day that run into intervals of the day after."""
    problems = []
    for i, night in enumerate(first[1]):
        spill = _minutes(night)[1] - 24 * 60
        for j, morning in enumerate(second[1]):
            if spill > 0 and _minutes(morning)[0] < spill:
                if blame_first:
                    message = f"runs until {_hhmm(night.end)} on {second[2]} and overlaps {_range(morning)} there"
                    problems.append((f"{first[0]}.{i}", message))
                else:
                    problems.append((f"{second[0]}.{j}", f"overlaps {first[2]}'s overnight shift {_range(night)}"))
    return problems


def _usual_hours(cal: Calendar, day: date) -> tuple[Interval, ...]:
    """The date's hours, with public holidays left out if the country is unknown (reported already)."""
    try:
        return _hours(cal, day)
    except NotImplementedError:
        return _hours(cal.model_copy(update={"holidays_country": None}), day)


def _minutes(interval: Interval) -> tuple[float, float]:
    start, end = (t.hour * 60 + t.minute + t.second / 60 + t.microsecond / 6e7 for t in (interval.start, interval.end))
    return start, end if end > start else end + 24 * 60


def _label(day: date) -> str:
    return f"{_WEEKDAYS[day.weekday()]} {day.isoformat()}"


def _hhmm(t: time) -> str:
    return t.strftime("%H:%M:%S" if t.second else "%H:%M")


def _range(interval: Interval) -> str:
    return f"{_hhmm(interval.start)}-{_hhmm(interval.end)}"
