"""Routing events, published by the router on the routing topic."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import Field

from shared.events import topics
from shared.events.base import Event
from shared.events.tickets import Priority


class TicketRouted(Event):
    """The ticket now waits in `queue` with this priority."""

    TYPE: ClassVar[str] = "switchboard.ticket.routed"
    TOPIC: ClassVar[str] = topics.ROUTING

    ticket_id: str
    queue: str
    priority: Priority
    rule: str | None = None
    reason: str
    routed_at: datetime


class TicketAssigned(Event):
    """An agent now owns the ticket."""

    TYPE: ClassVar[str] = "switchboard.ticket.assigned"
    TOPIC: ClassVar[str] = topics.ROUTING

    ticket_id: str
    agent_id: str
    queue: str
    reason: str
    assigned_at: datetime


class TicketUnassigned(Event):
    """The agent no longer holds the ticket (assigned, or on offer to them): published on every path
    where an agent loses one, so a consumer can clear the assignee. The next `ticket.assigned` or
    `ticket.offered` (if any) says who has it now."""

    TYPE: ClassVar[str] = "switchboard.ticket.unassigned"
    TOPIC: ClassVar[str] = topics.ROUTING

    ticket_id: str
    agent_id: str
    reason: str
    unassigned_at: datetime
    cause: str | None = Field(
        None,
        description="solved, closed, reopened, transferred, escalated, agent_offline, offer_declined, "
        "offer_timeout (None from routers before this field)",
    )
    held_as: Literal["assigned", "offered"] = Field(
        "assigned", description="what the agent had: the ticket or an offer"
    )


class TicketPriorityRaised(Event):
    """The router raised the ticket's priority above what ingest reported (a rule, a queue's default,
    a workflow step, an escalation). Never lowers one: apply it as the ticket's priority."""

    TYPE: ClassVar[str] = "switchboard.ticket.priority_raised"
    TOPIC: ClassVar[str] = topics.ROUTING

    ticket_id: str
    old_priority: Priority
    new_priority: Priority
    by: str = Field(description="rule:<id>, queue:<name>, workflow:<queue>/<step> or escalation")
    reason: str
    raised_at: datetime


class TicketOffered(Event):
    """Offer mode: the ticket is reserved for one agent until they accept or the offer expires."""

    TYPE: ClassVar[str] = "switchboard.ticket.offered"
    TOPIC: ClassVar[str] = topics.ROUTING

    ticket_id: str
    agent_id: str
    queue: str
    expires_at: datetime
    offered_at: datetime


class TicketOfferDeclined(Event):
    """The agent declined, or let the offer lapse; the ticket goes back to waiting."""

    TYPE: ClassVar[str] = "switchboard.ticket.offer_declined"
    TOPIC: ClassVar[str] = topics.ROUTING

    ticket_id: str
    agent_id: str
    reason: Literal["declined", "timeout", "agent_offline"]
    declined_at: datetime


class TicketQueueChanged(Event):
    TYPE: ClassVar[str] = "switchboard.ticket.queue_changed"
    TOPIC: ClassVar[str] = topics.ROUTING

    ticket_id: str
    from_queue: str
    to_queue: str
    reason: str
    changed_at: datetime


class QueueUpdated(Event):
    """A queue was created or changed (`deleted` false) or deleted at the router, so other services
    know which queues exist without reading the router's tables. The router also announces every
    queue it has when it starts; apply an announcement only if its `updated_at` is newer."""

    TYPE: ClassVar[str] = "switchboard.queue.updated"
    TOPIC: ClassVar[str] = topics.ROUTING

    queue: str
    deleted: bool = False
    updated_at: datetime

    def subject_id(self) -> str:
        return self.queue


class AgentStatusChanged(Event):
    TYPE: ClassVar[str] = "switchboard.agent.status_changed"
    TOPIC: ClassVar[str] = topics.ROUTING

    agent_id: str
    old_status: Literal["online", "away", "offline"]
    new_status: Literal["online", "away", "offline"]
    changed_at: datetime

    def subject_id(self) -> str:
        return self.agent_id


class AgentUpdated(Event):
    """An agent's profile was created or edited at the router: who they are to customers and colleagues
    (their `name` signs their messages at ingest)."""

    TYPE: ClassVar[str] = "switchboard.agent.updated"
    TOPIC: ClassVar[str] = topics.ROUTING

    agent_id: str
    name: str
    team: str | None = None
    updated_at: datetime
    capacity: dict[str, int] | None = Field(
        None, description="concurrent tickets per channel (None from routers before this field)"
    )
    total_capacity: int | None = Field(None, description="concurrent tickets in total (None: not said)")

    def subject_id(self) -> str:
        return self.agent_id


class RoutingDecisionRecorded(Event):
    """Why a ticket went where it went: the rule, the candidates with their scores, who was excluded and why."""

    TYPE: ClassVar[str] = "switchboard.routing.decision_recorded"
    TOPIC: ClassVar[str] = topics.ROUTING

    ticket_id: str
    kind: Literal["route", "assign", "offer", "wait", "overflow", "transfer", "requeue"]
    queue: str
    rule_id: str | None = None
    agent_id: str | None = None
    reason: str
    requirements: dict[str, Any] = Field(default_factory=dict)
    candidates: list[dict[str, Any]] = Field(default_factory=list, description="agent_id, excluded (reasons), score")
    rule_trace: list[dict[str, Any]] = Field(default_factory=list, description="rule_id, matched, failed")
    decided_at: datetime
    priority_change: dict[str, Any] | None = Field(
        None, description="from, to, by (ingest, rule:<id>, queue:<name>, workflow:<queue>/<step>, escalation)"
    )
    excluded_counts: dict[str, int] = Field(
        default_factory=dict, description="wait records: agents left out by each filter (all agents, not just listed)"
    )
