"""SLA clock events, published by the sla service on the sla topic.

Every clock event names the ticket, the metric and its cycle (next reply and periodic update run
once per exchange; first reply and resolution have cycle 0), the target and the due instant, and
how much of the target has elapsed in business and in calendar time when the event happened.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.events import topics
from shared.events.base import Event

Metric = Literal["first_reply", "next_reply", "periodic_update", "resolution"]


class AppliedTarget(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    metric: Metric
    target_s: int = Field(description="the target, in seconds of business or calendar time")
    business_hours: bool = Field(description="counted in the policy calendar's opening hours (else calendar time)")
    due_at: datetime | None = Field(
        None, description="when the running clock breaches (None: not running yet, or paused)"
    )
    warn_at: datetime | None = None


class SlaApplied(Event):
    """A policy (at a version of the SLA configuration) now measures the ticket, with these targets.
    Published when a ticket first gets a policy and again whenever its policy or targets change
    (a priority or tier change, or an explicit re-apply of newer policies)."""

    TYPE: ClassVar[str] = "switchboard.sla.applied"
    TOPIC: ClassVar[str] = topics.SLA

    ticket_id: str
    policy_id: str
    policy_name: str
    config_version: int = Field(description="version of the policies and calendars the ticket is measured by")
    targets: tuple[AppliedTarget, ...]
    applied_at: datetime


class _ClockEvent(Event):
    ticket_id: str
    policy_id: str
    metric: Metric
    cycle: int = Field(0, description="0 for first reply and resolution; the exchange number for next reply")
    target_s: int
    business_hours: bool
    due_at: datetime | None = Field(None, description="the due instant (None while paused)")
    business_elapsed_s: int = Field(description="business seconds elapsed on this clock when the event happened")
    calendar_elapsed_s: int = Field(description="calendar seconds elapsed (pauses excluded) when the event happened")


class SlaWarning(_ClockEvent):
    """The clock reached its warning point and is still running: a breach is coming at `due_at`."""

    TYPE: ClassVar[str] = "switchboard.sla.warning"
    TOPIC: ClassVar[str] = topics.SLA

    warned_at: datetime


class SlaBreached(_ClockEvent):
    """The target was missed: the clock was still running at `due_at` (`breached_at` equals it)."""

    TYPE: ClassVar[str] = "switchboard.sla.breached"
    TOPIC: ClassVar[str] = topics.SLA

    breached_at: datetime


class SlaMet(_ClockEvent):
    """The target was fulfilled in time (the reply was sent, or the ticket solved, before `due_at`)."""

    TYPE: ClassVar[str] = "switchboard.sla.met"
    TOPIC: ClassVar[str] = topics.SLA

    met_at: datetime


class SlaClockStopped(_ClockEvent):
    """The clock stopped (the reply was sent, or the ticket solved or closed), met or not: its business and
    calendar elapsed are final as of `stopped_at`. Published at every stop, so a breached clock tells how
    long it really took, and a resolution clock that stops again after a reopen says so again."""

    TYPE: ClassVar[str] = "switchboard.sla.clock_stopped"
    TOPIC: ClassVar[str] = topics.SLA

    breached: bool = Field(description="the due instant passed before it stopped")
    stopped_at: datetime


class SlaPaused(_ClockEvent):
    """The clock stopped counting (the ticket went pending or on hold, as its policy says)."""

    TYPE: ClassVar[str] = "switchboard.sla.paused"
    TOPIC: ClassVar[str] = topics.SLA

    reason: str = Field(description="the status that paused it: pending or on_hold")
    paused_at: datetime


class SlaResumed(_ClockEvent):
    """The clock counts again; `due_at` is the new due instant."""

    TYPE: ClassVar[str] = "switchboard.sla.resumed"
    TOPIC: ClassVar[str] = topics.SLA

    reason: str = Field(description="the status that had paused it")
    resumed_at: datetime
