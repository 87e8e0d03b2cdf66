"""Request and response bodies of the sla REST API (validated here, converted to domain objects)."""

from __future__ import annotations

from datetime import date, time
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from services.sla.adapters.reports import GroupBy
from services.sla.domain.model import Calendar, Conditions, Interval, Policy, Target
from shared.events.sla import Metric
from shared.events.tickets import Status

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# a target longer than a year is a typo, and larger values overflow date arithmetic
MAX_TARGET_S = 366 * 24 * 3600


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IntervalIn(Strict):
    start: time = Field(description="local time, e.g. 08:00")
    end: time = Field(description="local time; at or before `start` means it ends the next day; 00:00 is midnight")


class HoursIn(Strict):
    """Opening hours per weekday; a day left out or empty is closed."""

    mon: list[IntervalIn] = Field(default_factory=list, max_length=24)
    tue: list[IntervalIn] = Field(default_factory=list, max_length=24)
    wed: list[IntervalIn] = Field(default_factory=list, max_length=24)
    thu: list[IntervalIn] = Field(default_factory=list, max_length=24)
    fri: list[IntervalIn] = Field(default_factory=list, max_length=24)
    sat: list[IntervalIn] = Field(default_factory=list, max_length=24)
    sun: list[IntervalIn] = Field(default_factory=list, max_length=24)


class HolidaysIn(Strict):
    country: str = Field(min_length=2, max_length=3, description="ISO country, e.g. DE")
    subdivision: str | None = Field(None, max_length=10, description="e.g. BY for Bavaria")


def _intervals(given: list[IntervalIn]) -> tuple[Interval, ...]:
    return tuple(Interval(start=i.start, end=i.end) for i in given)


class CalendarIn(Strict):
    name: str = Field("", max_length=200)
    time_zone: str = Field("UTC", min_length=1, max_length=64, description="IANA time zone, e.g. Europe/Berlin")
    hours: HoursIn = Field(default_factory=HoursIn)
    holidays: HolidaysIn | None = None
    closed_dates: list[date] = Field(default_factory=list, max_length=1000)
    open_days: dict[date, list[IntervalIn]] = Field(default_factory=dict, max_length=1000)

    def to_domain(self, calendar_id: str) -> Calendar:
        return Calendar(
            id=calendar_id,
            name=self.name,
            time_zone=self.time_zone,
            weekly=tuple(_intervals(getattr(self.hours, day)) for day in DAYS),
            holidays_country=self.holidays.country if self.holidays else None,
            holidays_subdivision=self.holidays.subdivision if self.holidays else None,
            closed_dates=frozenset(self.closed_dates),
            open_days={day: _intervals(given) for day, given in self.open_days.items()},
        )


class CalendarDraft(CalendarIn):
    id: str = Field(min_length=1, max_length=100, pattern=NAME_PATTERN)


def calendar_out(calendar: Calendar, config_version: int | None) -> dict[str, Any]:
    def hours(intervals: tuple[Interval, ...]) -> list[dict[str, str]]:
        return [{"start": i.start.isoformat("minutes"), "end": i.end.isoformat("minutes")} for i in intervals]

    holidays = None
    if calendar.holidays_country:
        holidays = {"country": calendar.holidays_country, "subdivision": calendar.holidays_subdivision}
    return {
        "id": calendar.id,
        "name": calendar.name,
        "time_zone": calendar.time_zone,
        "hours": {day: hours(intervals) for day, intervals in zip(DAYS, calendar.weekly, strict=True)},
        "holidays": holidays,
        "closed_dates": sorted(d.isoformat() for d in calendar.closed_dates),
        "open_days": {d.isoformat(): hours(i) for d, i in sorted(calendar.open_days.items())},
        "config_version": config_version,
    }


class TargetIn(Strict):
    metric: Metric
    target_s: int = Field(gt=0, le=MAX_TARGET_S, description="seconds of business time (or calendar time)")
    business_hours: bool = Field(True, description="count only the calendar's opening hours")
    warn_percent: float | None = Field(None, gt=0, lt=100, description="warn when this % of the target has elapsed")
    warn_before_s: int | None = Field(None, gt=0, le=MAX_TARGET_S, description="warn this long before the due instant")


class ConditionsIn(Strict):
    """All given conditions must hold; an empty list (or null) means any value."""

    priority: list[Literal["low", "normal", "high", "urgent"]] = Field(default_factory=list, max_length=4)
    channel: list[Literal["email", "chat", "webhook", "api"]] = Field(default_factory=list, max_length=4)
    tier: list[str] = Field(default_factory=list, max_length=100)
    vip: bool | None = None
    brand: list[str] = Field(default_factory=list, max_length=100)
    inbox: list[str] = Field(default_factory=list, max_length=100)
    queue: list[str] = Field(default_factory=list, max_length=100)
    tags_any: list[str] = Field(default_factory=list, max_length=100)
    tags_all: list[str] = Field(default_factory=list, max_length=100)
    language: list[str] = Field(default_factory=list, max_length=100)


def _pause_on() -> list[Status]:
    return ["pending", "on_hold"]


class PolicyIn(Strict):
    name: str = Field("", max_length=200)
    position: int | None = Field(None, ge=0, le=10_000, description="0 = checked first; default: last (or unchanged)")
    conditions: ConditionsIn = Field(default_factory=ConditionsIn)
    targets: list[TargetIn] = Field(min_length=1, max_length=8)
    calendar_id: str | None = Field(None, max_length=100, description="null: around the clock")
    pause_on: list[Status] = Field(default_factory=_pause_on, max_length=6)
    default: bool = Field(False, description="the policy for tickets no policy's conditions match")

    def to_domain(self, policy_id: str) -> Policy:
        return Policy(
            id=policy_id,
            name=self.name,
            conditions=Conditions(**self.conditions.model_dump()),
            targets=tuple(Target(**t.model_dump()) for t in self.targets),
            calendar_id=self.calendar_id,
            pause_on=tuple(self.pause_on),
        )


class PolicyDraft(PolicyIn):
    id: str = Field(min_length=1, max_length=100, pattern=NAME_PATTERN)


def policy_out(policy: Policy, position: int, is_default: bool, config_version: int | None) -> dict[str, Any]:
    return {
        **policy.model_dump(mode="json"),
        "position": position,
        "default": is_default,
        "config_version": config_version,
    }


class WhatIfIn(Strict):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: AwareDatetime | None = Field(None, alias="from", description="default: 30 days before `to`")
    to: AwareDatetime | None = Field(None, description="default: now")
    group_by: GroupBy = "priority"
    policies: list[PolicyDraft] | None = Field(None, max_length=500, description="in order; default: the current ones")
    default_policy_id: str | None = Field(None, max_length=100)
    calendars: list[CalendarDraft] | None = Field(None, max_length=500, description="default: the current ones")
