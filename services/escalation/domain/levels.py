"""The escalation lifecycle: `decide(escalation, policy, input, now)` -> what changes and what to do.

`open` -> `acknowledged` -> `resolved` (or `open` -> `resolved`). Level 1 fires when the
escalation opens, after its `delay_s` if it has one; level n+1 fires when its own delay has
passed since level n fired and nobody acknowledged. Acknowledging stops the levels; nothing
happens after resolve. A trigger firing again for a ticket whose escalation under that policy
is still open or acknowledged folds into it (a history step, no action, no page), so one
problem pages once. A level timer carries its level number: it fires only if the escalation is
still open at the level before it, so a redelivered or late timer does nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from services.escalation.domain.policy import CHANNELS, PRIORITIES, Action, Channel, Policy
from services.escalation.domain.triggers import Signal
from shared.events.base import Event
from shared.events.escalation import (
    EscalationAcknowledged,
    EscalationLevelReached,
    EscalationOpened,
    EscalationRequested,
    EscalationResolved,
)
from shared.events.tickets import Priority

STATES = ("open", "acknowledged", "resolved")
_PRIORITY: dict[str, Priority] = {"low": "low", "normal": "normal", "high": "high", "urgent": "urgent"}
LEVEL_REACHED = EscalationLevelReached.TYPE


@dataclass(frozen=True)
class Escalation:
    id: str
    ticket_id: str
    policy_id: str
    policy_version: int
    trigger: str
    state: str
    level: int  # the last level that fired (0: none yet)
    opened_at: datetime
    opened_by: str
    opened_reason: str
    repeats: int = 0
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    acknowledged_reason: str | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    resolved_reason: str | None = None


@dataclass(frozen=True)
class Open:
    """A trigger matched (or a person escalated): open an escalation, or fold into the open one."""

    signal: Signal
    trigger: str
    escalation_id: str  # used only if a new escalation opens
    start_level: int = 1  # a person may start higher


@dataclass(frozen=True)
class LevelDue:
    level: int


@dataclass(frozen=True)
class Acknowledge:
    by: str
    reason: str


@dataclass(frozen=True)
class Resolve:
    by: str
    reason: str


Input = Open | LevelDue | Acknowledge | Resolve


@dataclass(frozen=True)
class Step:
    """One line of the escalation's history."""

    kind: str  # opened, folded, level_reached, acknowledged, resolved
    level: int
    by: str
    reason: str
    at: datetime
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Notification:
    channel: Channel
    target: str
    secret: str | None
    idempotency_key: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class Decision:
    escalation: Escalation | None = None  # the state to save (None: nothing changes)
    steps: tuple[Step, ...] = ()
    events: tuple[Event, ...] = ()
    notifications: tuple[Notification, ...] = ()
    timer: tuple[int, datetime] | None = None  # (level, due_at) to arm next
    clear_timers: bool = False  # the escalation's pending level timers are void (cleared before `timer` is armed)
    refused: str | None = None  # why the input does not apply (a 409 for a person)
    opened: bool = False


def decide(current: Escalation | None, policy: Policy, given: Input, now: datetime) -> Decision:
    if isinstance(given, Open):
        if current is None:
            return _open(policy, given, now)
        return _repeat(current, policy, given, now)
    if current is None:
        return Decision(refused="there is no such escalation")
    if isinstance(given, LevelDue):
        if current.state != "open" or current.level != given.level - 1:
            return Decision()  # acknowledged, resolved, or that level fired already: a stale timer
        return _fire(current, policy, given.level, now, reason=f"level {given.level - 1} was not acknowledged in time")
    if isinstance(given, Acknowledge):
        if current.state != "open":
            return Decision(refused=f"escalation {current.id} is {current.state}; only an open one can be acknowledged")
        acked = replace(
            current,
            state="acknowledged",
            acknowledged_at=now,
            acknowledged_by=given.by,
            acknowledged_reason=given.reason,
        )
        event = EscalationAcknowledged(
            **_ids(acked), level=acked.level, by=given.by, reason=given.reason, acknowledged_at=now
        )
        step = Step("acknowledged", acked.level, given.by, given.reason, now)
        return Decision(acked, (step,), (event,), clear_timers=True)
    if current.state == "resolved":
        return Decision(refused=f"escalation {current.id} is resolved already")
    done = replace(current, state="resolved", resolved_at=now, resolved_by=given.by, resolved_reason=given.reason)
    resolved = EscalationResolved(**_ids(done), level=done.level, by=given.by, reason=given.reason, resolved_at=now)
    return Decision(done, (Step("resolved", done.level, given.by, given.reason, now),), (resolved,), clear_timers=True)


def _open(policy: Policy, given: Open, now: datetime) -> Decision:
    signal = given.signal
    escalation = Escalation(
        id=given.escalation_id,
        ticket_id=signal.ticket_id,
        policy_id=policy.id,
        policy_version=policy.version,
        trigger=given.trigger,
        state="open",
        level=0,
        opened_at=now,
        opened_by=signal.by,
        opened_reason=signal.reason,
    )
    opened = EscalationOpened(**_ids(escalation), by=signal.by, reason=signal.reason, opened_at=now)
    step = Step("opened", 0, signal.by, signal.reason, now, {"trigger": given.trigger})
    start = min(max(given.start_level, 1), len(policy.levels))
    if start > 1:
        fired = _fire(escalation, policy, start, now, reason=f"escalated by hand to level {start}")
    else:
        fired = _schedule(escalation, policy, 1, now, reason="level 1 fires when the escalation opens")
    return replace(
        fired,
        escalation=fired.escalation or escalation,
        steps=(step, *fired.steps),
        events=(opened, *fired.events),
        opened=True,
    )


def _repeat(current: Escalation, policy: Policy, given: Open, now: datetime) -> Decision:
    """The same problem again: fold it in; a person asking for a higher level gets that level now."""
    signal = given.signal
    if current.state == "open" and given.start_level > max(current.level, 1) and policy.level(given.start_level):
        return _fire(current, policy, given.start_level, now, reason=f"escalated by hand to level {given.start_level}")
    folded = replace(current, repeats=current.repeats + 1)
    step = Step("folded", current.level, signal.by, signal.reason, now, {"trigger": given.trigger})
    return Decision(folded, (step,))


def _schedule(escalation: Escalation, policy: Policy, number: int, now: datetime, *, reason: str) -> Decision:
    """Fire level `number` now if its delay is 0, else arm its timer."""
    level = policy.level(number)
    if level is None:
        return Decision(escalation)
    if level.delay_s > 0:
        return Decision(escalation, timer=(number, now + timedelta(seconds=level.delay_s)))
    return _fire(escalation, policy, number, now, reason=reason)


def _fire(escalation: Escalation, policy: Policy, number: int, now: datetime, *, reason: str) -> Decision:
    level = policy.level(number)
    if level is None:
        return Decision()
    reached = replace(escalation, level=number)
    taken, notifications = [], []
    for i, action in enumerate(level.actions):
        outcome = _outcome(action)
        taken.append({**action.describe(), "outcome": outcome})
        channel = CHANNELS.get(action.channel or "")
        if action.type == "notify" and channel and action.target:
            key = f"esc:{escalation.id}:level:{number}:{i}"
            notifications.append(
                Notification(channel, action.target, action.secret, key, _payload(reached, number, reason, now))
            )
    events: list[Event] = []
    request = _router_request(reached, level.actions, reason, now)
    if request is not None:
        events.append(request)
    events.append(
        EscalationLevelReached(**_ids(reached), level=number, actions=tuple(taken), reason=reason, reached_at=now)
    )
    step = Step("level_reached", number, "system", reason, now, {"actions": taken})
    following = _schedule(reached, policy, number + 1, now, reason=f"level {number + 1} has no delay")
    return Decision(
        following.escalation or reached,
        (step, *following.steps),
        (*events, *following.events),
        (*notifications, *following.notifications),
        timer=following.timer,
        clear_timers=True,  # a level fired by hand makes the timer armed for it void
    )


def _outcome(action: Action) -> str:
    # routing actions are asked of the router, tags of ingest, both in the level's EscalationRequested
    return "enqueued" if action.type == "notify" else "requested"


def _router_request(
    escalation: Escalation, actions: tuple[Action, ...], reason: str, now: datetime
) -> EscalationRequested | None:
    """A level's ticket actions as one request (last queue and agent, highest priority, every tag in order)
    of the router (queue, priority, agent) and ingest (tags)."""
    queue = next((a.queue for a in reversed(actions) if a.type == "move_to_queue"), None)
    agent = next((a.agent_id for a in reversed(actions) if a.type == "assign_agent"), None)
    raised = [_PRIORITY[a.priority] for a in actions if a.type == "raise_priority" and a.priority in _PRIORITY]
    priority = max(raised, key=PRIORITIES.index) if raised else None
    tags = tuple(dict.fromkeys(t for a in actions if a.type == "add_tags" for t in a.tags))
    if queue is None and agent is None and priority is None and not tags:
        return None
    return EscalationRequested(
        ticket_id=escalation.ticket_id,
        to_queue=queue,
        priority=priority,
        agent_id=agent,
        add_tags=tags,
        reason=f"escalation {escalation.policy_id} level {escalation.level} ({escalation.trigger}): {reason}",
        requested_at=now,
    )


def _payload(escalation: Escalation, number: int, reason: str, now: datetime) -> dict[str, Any]:
    text = (
        f"Ticket {escalation.ticket_id} escalated to level {number} by policy {escalation.policy_id} "
        f"({escalation.trigger}): {escalation.opened_reason}"
    )
    return {
        "type": LEVEL_REACHED,
        "text": text,  # what a Slack-compatible incoming webhook shows
        "escalation_id": escalation.id,
        "ticket_id": escalation.ticket_id,
        "policy_id": escalation.policy_id,
        "policy_version": escalation.policy_version,
        "trigger": escalation.trigger,
        "level": number,
        "reason": reason,
        "reached_at": now.isoformat(),
    }


def _ids(escalation: Escalation) -> dict[str, Any]:
    return {
        "ticket_id": escalation.ticket_id,
        "escalation_id": escalation.id,
        "policy_id": escalation.policy_id,
        "policy_version": escalation.policy_version,
        "trigger": escalation.trigger,
    }
