"""What time alone does to a waiting ticket: workflow steps raise its priority, wait limits overflow or widen. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from services.router.domain.assignment import overflow_action, requirements
from services.router.domain.change import Change
from services.router.domain.decide import move, raised, record, settle_priority
from services.router.domain.model import Agent, Queue, RoutedTicket


def step_priority(ticket: RoutedTicket, queue: Queue, online: Sequence[Agent], now: datetime) -> Change | None:
    """A workflow step may carry a priority: a ticket that reaches it is raised to at least that."""
    steps = {target.name: target for target in queue.workflow}
    step = steps.get(requirements(queue, ticket, now, online).step or "")
    if step is None or step.priority is None:
        return None
    change = settle_priority(ticket.priority, None, (step.priority, f"workflow:{queue.name}/{step.name}"))
    if change is None:
        return None
    changed = replace(ticket, priority=change.after)
    why = f"workflow step {step.name}: priority {change.before} -> {change.after}"
    kept = record("route", changed, reason=why, now=now, priority_change=change)
    return Change(ticket=changed, events=(kept, *raised(ticket.ticket_id, change, why, now)))


def overflow(ticket: RoutedTicket, queue: Queue, now: datetime) -> Change | None:
    """Past the queue's wait limit: on to the overflow queue, or the skill requirement widened (once)."""
    if not queue.wait_limit_s:
        return None
    action = overflow_action(ticket, queue, now)
    if action == "move" and queue.overflow_queue:
        why = f"waited {queue.wait_limit_s} s in {queue.name}; overflow"
        moved, changed = move(ticket, queue.overflow_queue, why, now=now)
        return Change(ticket=moved, events=(changed, record("overflow", moved, reason=changed.reason, now=now)))
    if action == "widen":
        widened = replace(ticket, skills_widened=True)
        why = f"waited {queue.wait_limit_s} s in {queue.name}; skill requirement widened"
        return Change(ticket=widened, events=(record("overflow", widened, reason=why, now=now),))
    return None
