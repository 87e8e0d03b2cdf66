"""Escalation events on the escalations topic: requests of the router, and every step of an escalation.

An escalation is opened by a policy's trigger (or a person), fires the policy's levels one after
another until someone acknowledges it, and ends resolved. Each step names the ticket, the
escalation, its policy and trigger, who (a person, or `system`), why and when.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from pydantic import Field

from shared.events import topics
from shared.events.base import Event
from shared.events.tickets import Priority


class EscalationRequested(Event):
    """Move a ticket to another queue (e.g. tier 2) and/or raise its priority, then route it again; tag it."""

    TYPE: ClassVar[str] = "switchboard.ticket.escalation_requested"
    TOPIC: ClassVar[str] = topics.ESCALATIONS

    ticket_id: str
    to_queue: str | None = None
    priority: Priority | None = None
    reason: str
    requested_at: datetime
    agent_id: str | None = Field(
        None, description="an agent the escalation asks to work the ticket (routers before this field ignore it)"
    )
    add_tags: tuple[str, ...] = Field(
        (), description="tags ingest adds to the ticket (a TicketFieldsChanged follows); the router ignores them"
    )


class _EscalationStep(Event):
    ticket_id: str
    escalation_id: str
    policy_id: str
    policy_version: int
    trigger: str = Field(description="what opened it: sla_breached:first_reply, keywords:lawyer, manual, ...")


class EscalationOpened(_EscalationStep):
    """A policy's trigger matched (or a person escalated by hand): the escalation is open."""

    TYPE: ClassVar[str] = "switchboard.escalation.opened"
    TOPIC: ClassVar[str] = topics.ESCALATIONS

    by: str = Field(description="the person who escalated by hand, or `system`")
    reason: str
    opened_at: datetime


class EscalationLevelReached(_EscalationStep):
    """A level of the policy fired (its delay passed unacknowledged), with the actions it took."""

    TYPE: ClassVar[str] = "switchboard.escalation.level_reached"
    TOPIC: ClassVar[str] = topics.ESCALATIONS

    level: int = Field(description="1 for the first level")
    actions: tuple[dict[str, Any], ...] = Field(
        description="each action: type, its parameters, and `outcome` (requested, enqueued, not_supported)"
    )
    reason: str
    reached_at: datetime


class EscalationAcknowledged(_EscalationStep):
    """Someone took it on: no further level fires."""

    TYPE: ClassVar[str] = "switchboard.escalation.acknowledged"
    TOPIC: ClassVar[str] = topics.ESCALATIONS

    level: int
    by: str
    reason: str
    acknowledged_at: datetime


class EscalationResolved(_EscalationStep):
    """The escalation is over (by a person, or `system` when the ticket was solved or closed)."""

    TYPE: ClassVar[str] = "switchboard.escalation.resolved"
    TOPIC: ClassVar[str] = topics.ESCALATIONS

    level: int
    by: str
    reason: str
    resolved_at: datetime
