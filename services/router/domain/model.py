"""The router's world: queues, agents, routing rules, and each ticket's routing state. Plain data."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Priority = Literal["low", "normal", "high", "urgent"]
Strategy = Literal["least_loaded", "longest_idle", "round_robin"]
AgentStatus = Literal["online", "away", "offline"]
# waiting: in a queue; offered: reserved for one agent until they accept or the offer times out;
# assigned: an agent owns it (counts against their capacity); done: solved or closed
RoutingStatus = Literal["waiting", "offered", "assigned", "done"]

PRIORITY_RANK: dict[str, int] = {"urgent": 0, "high": 1, "normal": 2, "low": 3}


@dataclass(frozen=True)
class WorkflowTarget:
    """One step of a queue's workflow (TaskRouter's "targets"): who may take the ticket for how long."""

    name: str
    team: str | None = None  # only agents of this team
    skills: Mapping[str, int] = field(default_factory=dict)  # required at this step, replacing the queue's
    priority: Priority | None = None  # reaching this step raises the ticket to at least this priority
    timeout_s: int | None = None  # after this long at this step, move to the next one (None: stay)
    skip_if_unavailable: bool = False  # nobody in this target online right now: go straight to the next


@dataclass(frozen=True)
class Queue:
    name: str
    default_priority: Priority = "low"  # a floor: tickets entering the queue get at least this priority
    required_skills: Mapping[str, int] = field(default_factory=dict)  # skill -> minimum level
    strategy: Strategy = "least_loaded"
    require_language: bool = False  # the agent must speak the ticket's language (when it has one)
    offer_mode: bool = False
    offer_timeout_s: int = 120
    wait_limit_s: int | None = None
    overflow_queue: str | None = None  # past the wait limit: move here...
    widen_skills_after_wait: bool = False  # ...or drop the skill requirement (when no overflow queue)
    workflow: tuple[WorkflowTarget, ...] = ()
    fairness_max_per_window: int | None = None  # per agent, assignments from this queue per window
    fairness_window_s: int = 3600
    requeue_email_on_offline: bool = False  # chats always go back to the queue; emails only if set
    # served before ticket priority across queues: lower first (Salesforce's routing priority); equal by default
    routing_priority: int = 0


@dataclass(frozen=True)
class Agent:
    id: str
    name: str
    team: str | None = None
    skills: Mapping[str, int] = field(default_factory=dict)
    languages: tuple[str, ...] = ()
    capacity: Mapping[str, int] = field(default_factory=dict)  # channel -> concurrent tickets; missing = 0
    total_capacity: int = 0
    status: AgentStatus = "offline"
    status_changed_at: datetime | None = None
    last_assigned_at: datetime | None = None


@dataclass(frozen=True)
class AgentLoad:
    """What an agent holds right now, and how much this queue gave them in the fairness window."""

    by_channel: Mapping[str, int] = field(default_factory=dict)
    total: int = 0
    recent_from_queue: int = 0


@dataclass(frozen=True)
class TicketFacts:
    """What rules look at: copied from the ticket events ingest publishes."""

    ticket_id: str
    channel: str
    brand: str = "default"
    priority: Priority = "normal"
    language: str | None = None
    tags: tuple[str, ...] = ()
    subject: str = ""
    body_preview: str = ""
    requester_email: str | None = None
    requester_tier: str | None = None
    vip: bool = False
    organization: str | None = None
    custom_fields: Mapping[str, Any] = field(default_factory=dict)
    inbox: str | None = None


@dataclass(frozen=True)
class RuleConditions:
    """All given conditions must hold (AND); a list means any of its values (OR). None = not tested."""

    channel: tuple[str, ...] | None = None
    brand: tuple[str, ...] | None = None
    inbox: tuple[str, ...] | None = None
    tier: tuple[str, ...] | None = None
    vip: bool | None = None
    organization: tuple[str, ...] | None = None
    tags_any: tuple[str, ...] | None = None
    tags_all: tuple[str, ...] | None = None
    tags_none: tuple[str, ...] | None = None
    priority: tuple[str, ...] | None = None
    language: tuple[str, ...] | None = None
    custom_fields: Mapping[str, Any] | None = None  # field -> required value (equality)
    keywords: tuple[str, ...] | None = None  # any of these words in subject or body, case-insensitive


@dataclass(frozen=True)
class RuleActions:
    queue: str
    priority: Priority | None = None
    required_skills: Mapping[str, int] = field(default_factory=dict)  # added to the queue's
    add_tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rule:
    id: str
    conditions: RuleConditions
    actions: RuleActions
    name: str = ""
    enabled: bool = True


@dataclass(frozen=True)
class RuleSet:
    """Ordered rules, first match wins, then the explicit default."""

    version: int
    rules: tuple[Rule, ...]
    default: RuleActions


@dataclass(frozen=True)
class RoutedTicket:
    """The router's state for one ticket."""

    ticket_id: str
    reference: str
    channel: str
    brand: str
    priority: Priority
    language: str | None
    status: RoutingStatus
    queue: str
    received_at: datetime  # when ingest received it (age for "priority, then age")
    routed_at: datetime
    waiting_since: datetime  # entered the current queue (or went back to waiting): wait limits count from here
    required_skills: Mapping[str, int] = field(default_factory=dict)  # from the rule (on top of the queue's)
    tags: tuple[str, ...] = ()
    rule_id: str | None = None
    agent_id: str | None = None  # assigned or offered to
    previous_agent_id: str | None = None  # for affinity when it comes back
    offer_expires_at: datetime | None = None
    declined_by: tuple[str, ...] = ()  # agents who declined or let the offer lapse (not offered again)
    skills_widened: bool = False
    excluded_agent_id: str | None = None  # transferred away by this agent: not given back to them (until requeued)
    version: int = 0  # the stored row's version when read (bumped by every write; optimistic checks)
