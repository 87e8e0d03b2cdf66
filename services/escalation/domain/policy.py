"""Escalation policies: what opens an escalation (triggers) and what each level does (actions).

A policy is data an admin edits over REST. `validate` checks one against what the service knows
(the router's queues, learnt from `queue.updated`) and returns every problem as (field path,
message), so a 422 names each field; a policy is saved only when the list is empty.

A level's `delay_s` is how long it waits after the step before it (the escalation opening, for
level 1; level n-1 firing, for level n) and fires only if nobody acknowledged by then.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

TRIGGER_KINDS = (
    "sla_warning",
    "sla_breached",
    "reopened",
    "unassigned_wait",
    "keywords",
    "vip",
    "tier",
    "bad_csat",
    "manual",
)
ACTION_TYPES = ("raise_priority", "move_to_queue", "assign_agent", "add_tags", "notify")
Channel = Literal["webhook", "slack", "email"]
CHANNELS: dict[str, Channel] = {"webhook": "webhook", "slack": "slack", "email": "email"}
PRIORITIES = ("low", "normal", "high", "urgent")
METRICS = ("first_reply", "next_reply", "periodic_update", "resolution")
MAX_DELAY_S = 30 * 24 * 3600  # a longer wait is a typo, and larger values overflow date arithmetic
MAX_LEVELS = 20
_URL = re.compile(r"^https?://[^\s/:?#]+(:\d{1,5})?([/?#]\S*)?$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class Trigger:
    kind: str
    metrics: tuple[str, ...] = ()  # sla_*: only these metrics (none: any)
    times: int = 1  # reopened: at least this many reopens
    wait_s: int = 0  # unassigned_wait: waiting unassigned at least this long
    keywords: tuple[str, ...] = ()  # keywords: whole words or phrases, any case
    tiers: tuple[str, ...] = ()  # tier: any of these customer tiers


@dataclass(frozen=True)
class Action:
    type: str
    priority: str | None = None  # raise_priority
    queue: str | None = None  # move_to_queue
    agent_id: str | None = None  # assign_agent
    tags: tuple[str, ...] = ()  # add_tags
    channel: str | None = None  # notify: webhook, slack or email
    target: str | None = None  # notify: URL or email address
    secret: str | None = None  # notify webhook: signing secret

    def describe(self) -> dict[str, object]:
        """The action as it appears in events and history (never its secret)."""
        shown = {
            "priority": self.priority,
            "queue": self.queue,
            "agent_id": self.agent_id,
            "tags": list(self.tags) or None,
            "channel": self.channel,
            "target": self.target,
        }
        return {"type": self.type, **{k: v for k, v in shown.items() if v is not None}}


@dataclass(frozen=True)
class Level:
    delay_s: int
    actions: tuple[Action, ...]


@dataclass(frozen=True)
class Policy:
    id: str
    name: str
    triggers: tuple[Trigger, ...]
    levels: tuple[Level, ...]
    version: int = 1
    enabled: bool = True
    description: str = ""

    def level(self, number: int) -> Level | None:
        return self.levels[number - 1] if 1 <= number <= len(self.levels) else None

    def queues(self) -> set[str]:
        return {a.queue for lvl in self.levels for a in lvl.actions if a.queue}


@dataclass(frozen=True)
class FieldProblem:
    field: str
    message: str


@dataclass
class _Problems:
    found: list[FieldProblem] = field(default_factory=list)

    def add(self, path: str, message: str) -> None:
        self.found.append(FieldProblem(path, message))


def validate(policy: Policy, known_queues: Iterable[str]) -> list[FieldProblem]:
    """Every reason `policy` cannot be saved, each naming its field; empty when it can."""
    problems = _Problems()
    known = set(known_queues)
    if not policy.triggers:
        problems.add("triggers", "is empty: a policy needs at least one trigger (use `manual` for by-hand only)")
    for i, trigger in enumerate(policy.triggers):
        _check_trigger(trigger, f"triggers.{i}", problems)
    if not policy.levels:
        problems.add("levels", "is empty: a policy needs at least one level with at least one action")
    if len(policy.levels) > MAX_LEVELS:
        problems.add("levels", f"has {len(policy.levels)} levels; at most {MAX_LEVELS} are allowed")
    for n, level in enumerate(policy.levels):
        path = f"levels.{n}"
        if level.delay_s < 0:
            problems.add(f"{path}.delay_s", f"is {level.delay_s}; a delay is 0 (at once) or more seconds")
        elif level.delay_s > MAX_DELAY_S:
            problems.add(f"{path}.delay_s", f"is {level.delay_s}; at most {MAX_DELAY_S} (30 days) is allowed")
        if not level.actions:
            problems.add(f"{path}.actions", "is empty: a level that does nothing only delays the next one")
        for a, action in enumerate(level.actions):
            _check_action(action, f"{path}.actions.{a}", known, problems)
    return problems.found


def _check_trigger(trigger: Trigger, path: str, problems: _Problems) -> None:
    if trigger.kind not in TRIGGER_KINDS:
        problems.add(f"{path}.kind", f"unknown trigger {trigger.kind!r}; known: {', '.join(TRIGGER_KINDS)}")
        return
    for m, metric in enumerate(trigger.metrics):
        if metric not in METRICS:
            problems.add(f"{path}.metrics.{m}", f"unknown SLA metric {metric!r}; known: {', '.join(METRICS)}")
    if trigger.kind == "reopened" and trigger.times < 1:
        problems.add(f"{path}.times", f"is {trigger.times}; a ticket must have been reopened at least once")
    if trigger.kind == "unassigned_wait" and not 0 < trigger.wait_s <= MAX_DELAY_S:
        problems.add(f"{path}.wait_s", f"is {trigger.wait_s}; give 1 to {MAX_DELAY_S} seconds of waiting unassigned")
    if trigger.kind == "keywords":
        if not trigger.keywords:
            problems.add(f"{path}.keywords", "is empty: give the words that escalate, e.g. cancel, lawyer, chargeback")
        for k, word in enumerate(trigger.keywords):
            if not word.strip():
                problems.add(f"{path}.keywords.{k}", "is blank; a keyword needs at least one letter or digit")
    if trigger.kind == "tier" and not trigger.tiers:
        problems.add(f"{path}.tiers", "is empty: give the customer tiers that escalate, e.g. enterprise")


def _check_action(action: Action, path: str, known: set[str], problems: _Problems) -> None:
    if action.type not in ACTION_TYPES:
        problems.add(f"{path}.type", f"unknown action {action.type!r}; known: {', '.join(ACTION_TYPES)}")
    elif action.type == "raise_priority" and action.priority not in PRIORITIES:
        problems.add(f"{path}.priority", f"is {action.priority!r}; one of {', '.join(PRIORITIES)}")
    elif action.type == "move_to_queue":
        if not action.queue:
            problems.add(f"{path}.queue", "is missing: name the queue to move the ticket to")
        elif action.queue not in known:
            problems.add(
                f"{path}.queue",
                f"unknown queue {action.queue!r}: the router has not announced it (create it with PUT /v1/queues/{action.queue} first)",
            )
    elif action.type == "assign_agent" and not action.agent_id:
        problems.add(f"{path}.agent_id", "is missing: name the agent who should take the ticket")
    elif action.type == "add_tags" and not action.tags:
        problems.add(f"{path}.tags", "is empty: give the tags to add")
    elif action.type == "notify":
        _check_notify(action, path, problems)


def _check_notify(action: Action, path: str, problems: _Problems) -> None:
    if action.channel not in CHANNELS:
        problems.add(f"{path}.channel", f"is {action.channel!r}; one of {', '.join(CHANNELS)}")
        return
    target = action.target or ""
    if action.channel == "email" and not _EMAIL.match(target):
        problems.add(f"{path}.target", f"{target!r} is not an email address (name@example.com)")
    elif action.channel != "email" and not _URL.match(target):
        problems.add(f"{path}.target", f"{target!r} is not an http(s) URL for the {action.channel} webhook")
    if action.channel == "email" and action.secret:
        problems.add(f"{path}.secret", "email notifications are not signed; leave the secret out")
