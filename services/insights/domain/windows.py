"""Time windows and statistics the KPIs share: buckets of a range, percentiles, percentages, groups."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, TypeVar

Interval = Literal["hour", "day", "week"]
STEP = {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(weeks=1)}
T = TypeVar("T")


@dataclass(frozen=True)
class Window:
    """[start, end); `bucket` is the bucket's aligned start (UTC), None when the range is not cut."""

    start: datetime
    end: datetime
    bucket: datetime | None = None

    def holds(self, instant: datetime | None) -> bool:
        return instant is not None and self.start <= instant < self.end


def align(instant: datetime, interval: Interval) -> datetime:
    """The start of the UTC hour, day or ISO week (Monday) holding `instant`."""
    utc = instant.astimezone(UTC)
    if interval == "hour":
        return utc.replace(minute=0, second=0, microsecond=0)
    day = utc.replace(hour=0, minute=0, second=0, microsecond=0)
    return day if interval == "day" else day - timedelta(days=day.weekday())


def bucket_count(start: datetime, end: datetime, interval: Interval | None) -> int:
    if interval is None:
        return 1
    return int((end - align(start, interval)) / STEP[interval]) + 1


def windows(start: datetime, end: datetime, interval: Interval | None) -> list[Window]:
    """The range whole, or cut at UTC hour/day/week boundaries (the first and last bucket clipped to it)."""
    if interval is None:
        return [Window(start, end)]
    found = []
    bucket = align(start, interval)
    while bucket < end:
        following = bucket + STEP[interval]
        found.append(Window(max(bucket, start), min(following, end), bucket))
        bucket = following
    return found


def percentile_cont(values: Sequence[float], fraction: float) -> float | None:
    """Linear interpolation between the two nearest ranks (PostgreSQL's percentile_cont); None if empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = fraction * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def percent(part: int | float, whole: int | float) -> float | None:
    """part / whole as a percentage rounded to 0.01; None when there is nothing to divide by."""
    return round(100.0 * part / whole, 2) if whole else None


def grouped(items: Iterable[T], key: Callable[[T], str | None]) -> list[tuple[str | None, list[T]]]:
    """Items by group, groups by name, the group without a value (None) last."""
    found: dict[str | None, list[T]] = {}
    for item in items:
        found.setdefault(key(item), []).append(item)
    return sorted(found.items(), key=lambda kv: (kv[0] is None, kv[0] or ""))


def seconds(later: datetime | None, earlier: datetime | None) -> float | None:
    if later is None or earlier is None:
        return None
    return (later - earlier).total_seconds()
