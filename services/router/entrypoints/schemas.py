"""Request and response bodies of the router's REST API (validated here, converted to domain objects)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.router.adapters.codec import to_json
from services.router.domain import rule_edits
from services.router.domain.model import (
    Agent,
    Queue,
    RoutedTicket,
    Rule,
    RuleActions,
    RuleConditions,
    RuleSet,
    TicketFacts,
    WorkflowTarget,
)

Priority = Literal["low", "normal", "high", "urgent"]
Channel = Literal["email", "chat", "webhook", "api"]
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$"
Name = Field(min_length=1, max_length=100, pattern=NAME_PATTERN)
Skills = dict[str, int]


# a wait, offer or workflow step longer than 30 days is a typo, and larger values overflow date arithmetic
MAX_SECONDS = 30 * 24 * 3600


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WorkflowTargetIn(Strict):
    name: str = Field(min_length=1, max_length=100)
    team: str | None = None
    skills: Skills = {}
    priority: Priority | None = None
    timeout_s: int | None = Field(None, ge=1, le=MAX_SECONDS)
    skip_if_unavailable: bool = False


class QueueIn(Strict):
    default_priority: Priority = "low"
    required_skills: Skills = {}
    strategy: Literal["least_loaded", "longest_idle", "round_robin"] = "least_loaded"
    require_language: bool = False
    offer_mode: bool = False
    offer_timeout_s: int = Field(120, ge=5, le=3600)
    wait_limit_s: int | None = Field(None, ge=1, le=MAX_SECONDS)
    overflow_queue: str | None = None
    widen_skills_after_wait: bool = False
    workflow: list[WorkflowTargetIn] = []
    fairness_max_per_window: int | None = Field(None, ge=1, le=100_000)
    fairness_window_s: int = Field(3600, ge=60, le=MAX_SECONDS)
    requeue_email_on_offline: bool = False
    routing_priority: int = Field(
        0, ge=-1000, le=1000, description="across queues, lower is served first (before ticket priority)"
    )

    def to_domain(self, name: str) -> Queue:
        data = self.model_dump()
        data["workflow"] = tuple(WorkflowTarget(**t) for t in data["workflow"])
        return Queue(name=name, **data)


class QueueOut(QueueIn):
    model_config = ConfigDict(extra="ignore")
    name: str

    @classmethod
    def of(cls, queue: Queue) -> QueueOut:
        return cls(**to_json(queue))


def _default_capacity() -> dict[Channel, int]:
    return {"email": 6, "webhook": 6, "api": 6, "chat": 2}


class AgentIn(Strict):
    name: str = Field(min_length=1, max_length=200)
    team: str | None = None
    skills: Skills = Field(default_factory=dict, description="skill -> level 1..10")
    languages: list[str] = []
    capacity: dict[Channel, Annotated[int, Field(ge=0, le=1000)]] = Field(
        default_factory=_default_capacity,
        description="concurrent tickets per channel; a channel left out means none of it",
    )
    total_capacity: int = Field(8, ge=0, le=1000)

    def to_domain(self, agent_id: str) -> Agent:
        return Agent(
            id=agent_id,
            name=self.name,
            team=self.team,
            skills=self.skills,
            languages=tuple(language.lower() for language in self.languages),
            capacity=dict(self.capacity.items()),
            total_capacity=self.total_capacity,
        )


class AgentOut(BaseModel):
    id: str
    name: str
    team: str | None
    skills: Skills
    languages: list[str]
    capacity: dict[str, int]
    total_capacity: int
    status: str
    status_changed_at: datetime | None
    load: dict[str, int] = {}
    total_load: int = 0

    @classmethod
    def of(cls, agent: Agent, load_by_channel: dict[str, int] | None = None, total: int = 0) -> AgentOut:
        return cls(
            id=agent.id,
            name=agent.name,
            team=agent.team,
            skills=dict(agent.skills),
            languages=list(agent.languages),
            capacity=dict(agent.capacity),
            total_capacity=agent.total_capacity,
            status=agent.status,
            status_changed_at=agent.status_changed_at,
            load=load_by_channel or {},
            total_load=total,
        )


class StatusIn(Strict):
    status: Literal["online", "away", "offline"]


class ConditionsIn(Strict):
    channel: list[Channel] | None = None
    brand: list[str] | None = None
    inbox: list[str] | None = None
    tier: list[str] | None = None
    vip: bool | None = None
    organization: list[str] | None = None
    tags_any: list[str] | None = None
    tags_all: list[str] | None = None
    tags_none: list[str] | None = None
    priority: list[Priority] | None = None
    language: list[str] | None = None
    custom_fields: dict[str, Any] | None = None
    keywords: list[str] | None = None


class ActionsIn(Strict):
    queue: str = Name
    priority: Priority | None = None
    required_skills: Skills = {}
    add_tags: list[str] = []

    def to_domain(self) -> RuleActions:
        return RuleActions(
            queue=self.queue,
            priority=self.priority,
            required_skills=dict(self.required_skills),
            add_tags=tuple(t.strip().lower() for t in self.add_tags),
        )


class RuleIn(Strict):
    id: str = Name
    name: str = ""
    enabled: bool = True
    conditions: ConditionsIn = ConditionsIn()
    actions: ActionsIn

    def to_domain(self) -> Rule:
        conditions: dict[str, Any] = {
            k: (tuple(v) if isinstance(v, list) else v) for k, v in self.conditions.model_dump().items()
        }
        if conditions.get("tags_any") or conditions.get("tags_all") or conditions.get("tags_none"):
            for key in ("tags_any", "tags_all", "tags_none"):
                if conditions.get(key):
                    conditions[key] = tuple(t.strip().lower() for t in conditions[key])
        return Rule(
            id=self.id,
            name=self.name,
            enabled=self.enabled,
            conditions=RuleConditions(**conditions),
            actions=self.actions.to_domain(),
        )


class OneRuleIn(RuleIn):
    """PUT /v1/rules/{id}: the id is the path's; one in the body is optional and must match it."""

    id: str | None = Field(None, min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")  # type: ignore[assignment]

    def with_id(self, rule_id: str) -> RuleIn:
        return RuleIn(**{**self.model_dump(), "id": rule_id})


class RuleSetIn(Strict):
    rules: list[RuleIn] = Field(default_factory=list, max_length=500)
    default: ActionsIn

    def to_domain(self) -> RuleSet:
        """A draft: the repository numbers it when it is saved."""
        return rule_edits.draft((r.to_domain() for r in self.rules), self.default.to_domain())


class RuleSetOut(BaseModel):
    version: int
    rules: list[dict[str, Any]]
    default: dict[str, Any]


class SampleTicket(Strict):
    channel: Channel = "email"
    brand: str = "default"
    priority: Priority = "normal"
    language: str | None = None
    tags: list[str] = []
    subject: str = ""
    body: str = ""
    requester_email: str | None = None
    requester_tier: str | None = None
    vip: bool = False
    organization: str | None = None
    custom_fields: dict[str, Any] = {}
    inbox: str | None = None

    def to_facts(self) -> TicketFacts:
        data = self.model_dump()
        data["body_preview"] = data.pop("body")[:1000]
        data["tags"] = tuple(t.strip().lower() for t in data["tags"])
        return TicketFacts(ticket_id="sample", **data)


class RuleTestIn(Strict):
    ticket: SampleTicket
    ruleset: RuleSetIn | None = Field(None, description="a draft to try; the current rules when absent")


class RoutedTicketOut(BaseModel):
    ticket_id: str
    reference: str
    channel: str
    priority: str
    status: str
    queue: str
    agent_id: str | None
    rule_id: str | None
    received_at: datetime
    routed_at: datetime
    waiting_since: datetime
    offer_expires_at: datetime | None
    waiting_seconds: float | None = None
    position: int | None = None

    @classmethod
    def of(cls, ticket: RoutedTicket, *, now: datetime | None = None, position: int | None = None) -> RoutedTicketOut:
        fields = {k: getattr(ticket, k) for k in cls.model_fields if k not in ("waiting_seconds", "position")}
        waited = (now - ticket.waiting_since).total_seconds() if now and ticket.status == "waiting" else None
        return cls(**fields, waiting_seconds=waited, position=position)


class TransferIn(Strict):
    agent_id: str | None = None
    queue: str | None = None
    allow_same_agent: bool = Field(False, description="to a queue: the agent who held it may get it back")
