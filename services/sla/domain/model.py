"""The SLA service's data: calendars, policies, the configuration version a ticket is measured by,
and what the clocks say. Plain frozen pydantic models (validated on construction, JSON in and out),
no I/O: `business_time` does the calendar arithmetic, `clocks` derives every clock from a ticket's
events, `policies` picks the policy.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.events.sla import Metric
from shared.events.tickets import Channel, Priority, Status

__all__ = [
    "Calendar",
    "Conditions",
    "Interval",
    "MetricClock",
    "Pause",
    "Policy",
    "SlaConfig",
    "SlaFacts",
    "Target",
    "TicketSla",
    "Transition",
]

METRICS: tuple[Metric, ...] = ("first_reply", "next_reply", "periodic_update", "resolution")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Interval(_Frozen):
    """Opening hours on one day, local wall-clock time. `end` <= `start` is an overnight shift that
    ends the next day (22:00-06:00); `end` 00:00 means midnight. An interval belongs to the day it
    starts on: a holiday on Tuesday cancels Tuesday's shifts, not Monday's 22:00-06:00."""

    start: time
    end: time


class Calendar(_Frozen):
    """When the team works: a time zone, weekly hours, public holidays and exceptions."""

    id: str
    name: str = ""
    time_zone: str = Field("UTC", description="IANA time zone, e.g. Europe/Berlin")
    # Monday first, 7 entries; an empty day is closed
    weekly: tuple[tuple[Interval, ...], ...] = Field(default_factory=lambda: ((),) * 7)
    holidays_country: str | None = Field(None, description="ISO country for the `holidays` package, e.g. DE")
    holidays_subdivision: str | None = Field(None, description="e.g. BY for Bavaria")
    closed_dates: frozenset[date] = frozenset()
    # a date open with these hours whatever the weekday or holiday says (a Saturday launch)
    open_days: Mapping[date, tuple[Interval, ...]] = Field(default_factory=dict)


class Target(_Frozen):
    metric: Metric
    target_s: int = Field(gt=0, description="seconds of business time (or calendar time)")
    business_hours: bool = True
    warn_percent: float | None = Field(None, gt=0, lt=100, description="warn when this % of the target has elapsed")
    warn_before_s: int | None = Field(None, gt=0, description="warn this long before the due instant")


class Conditions(_Frozen):
    """All given conditions must hold; an empty tuple or None means any value."""

    priority: tuple[Priority, ...] = ()
    channel: tuple[Channel, ...] = ()
    tier: tuple[str, ...] = ()
    vip: bool | None = None
    brand: tuple[str, ...] = ()
    inbox: tuple[str, ...] = ()
    queue: tuple[str, ...] = ()
    tags_any: tuple[str, ...] = ()
    tags_all: tuple[str, ...] = ()
    language: tuple[str, ...] = ()


class Policy(_Frozen):
    id: str
    name: str = ""
    conditions: Conditions = Conditions()
    targets: tuple[Target, ...]
    calendar_id: str | None = Field(None, description="None: around the clock (UTC, every day)")
    pause_on: tuple[Status, ...] = ("pending", "on_hold")


class SlaConfig(_Frozen):
    """One version of everything that decides a ticket's targets. Saving any policy or calendar makes a
    new version; a ticket keeps the version it started with until it is deliberately re-applied."""

    version: int
    policies: tuple[Policy, ...] = ()  # in order: the first whose conditions match wins
    default_policy_id: str | None = None  # used when none matches; None: such tickets get no SLA
    calendars: Mapping[str, Calendar] = Field(default_factory=dict)


class SlaFacts(_Frozen):
    """What policies match on and reports group by, as of the ticket's latest event."""

    ticket_id: str
    channel: Channel
    priority: Priority = "normal"
    brand: str = "default"
    inbox: str | None = None
    tier: str | None = None
    vip: bool = False
    queue: str | None = None
    tags: tuple[str, ...] = ()
    language: str | None = None
    status: Status = "new"
    received_at: datetime


class Pause(_Frozen):
    reason: str  # the status: pending or on_hold
    started_at: datetime
    ended_at: datetime | None = None


ClockState = Literal["running", "paused", "met", "breached"]


class MetricClock(_Frozen):
    """One clock as of `TicketSla.as_of`. `breached` covers a clock past due, stopped or not;
    `stopped_at` says whether it stopped. A reply before the due instant makes it `met`."""

    metric: Metric
    cycle: int = 0
    target_s: int
    business_hours: bool
    started_at: datetime
    due_at: datetime | None  # None while paused
    warn_at: datetime | None
    state: ClockState
    stopped_at: datetime | None = None
    breached_at: datetime | None = None  # == the due instant that passed
    business_elapsed_s: int
    calendar_elapsed_s: int  # wall time with pauses left out
    remaining_s: int  # in the target's own time (business or calendar); negative once breached
    pauses: tuple[Pause, ...] = ()


class TicketSla(_Frozen):
    ticket_id: str
    policy_id: str | None  # None: no policy matched and there is no default
    policy_name: str = ""
    config_version: int
    facts: SlaFacts
    clocks: tuple[MetricClock, ...] = ()
    as_of: datetime
    # the policy's targets (also the metrics with no clock yet), for `applied` and its key
    targets: tuple[Target, ...] = ()
    applied_at: datetime | None = None  # since when this policy and these targets measure the ticket


TransitionKind = Literal["applied", "warning", "breached", "met", "stopped", "paused", "resumed"]


class Transition(_Frozen):
    """Something the clocks say has happened by `as_of`, to announce exactly once. `key` is unique per
    ticket and stable across re-evaluations (`first_reply:0:breached`, `resolution:0:paused:<iso>`),
    so the service stores it and announces only keys it has not stored yet."""

    kind: TransitionKind
    key: str
    at: datetime
    clock: MetricClock | None = None  # None for `applied`
    reason: str | None = None  # paused/resumed: the status
