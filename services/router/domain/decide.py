"""Pure routing decisions that produce events: where a ticket waits, and the record of why.

Agent choice lives in assignment.py and rule matching in rules.py; this module turns their
answers into the router's state changes and the events that announce them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from services.router.domain.assignment import AssignmentDecision, Candidate, exclusion_kind
from services.router.domain.census import closeness
from services.router.domain.model import PRIORITY_RANK, Priority, Queue, RoutedTicket, TicketFacts
from services.router.domain.rules import RuleMatch
from shared.events.base import Event
from shared.events.routing import (
    RoutingDecisionRecorded,
    TicketAssigned,
    TicketOffered,
    TicketPriorityRaised,
    TicketQueueChanged,
    TicketRouted,
)
from shared.events.tickets import TicketReceived

# what a RoutingDecisionRecorded says happened
DecisionKind = Literal["route", "assign", "offer", "wait", "overflow", "transfer", "requeue"]


def facts_of(event: TicketReceived) -> TicketFacts:
    requester = event.requester
    return TicketFacts(
        ticket_id=event.ticket_id,
        channel=event.channel,
        brand=event.brand,
        priority=event.priority,
        language=event.language,
        tags=tuple(event.tags),
        subject=event.subject,
        body_preview=event.body_preview,
        requester_email=requester.email,
        requester_tier=requester.tier,
        vip=requester.vip,
        organization=requester.organization,
        custom_fields=dict(event.custom_fields),
        inbox=event.inbox,
    )


def higher(a: Priority, b: Priority) -> Priority:
    return a if PRIORITY_RANK[a] <= PRIORITY_RANK[b] else b


@dataclass(frozen=True)
class PriorityChange:
    """Who set the priority: the explicit one (from a person or the platform, via ingest) stands unless
    a rule, a queue's default, a workflow step or an escalation raises it; nothing here lowers it."""

    before: Priority
    after: Priority
    by: str  # ingest, rule:<id>, queue:<name>, workflow:<queue>/<step>, escalation
    asked: Priority  # what ingest last said (the explicit priority); `before` unless this change came from ingest

    @property
    def raised_by_router(self) -> bool:
        """Ingest shows `asked`; the router now shows more: ingest should be told."""
        return self.by != "ingest" and PRIORITY_RANK[self.after] < PRIORITY_RANK[self.asked]

    def as_record(self) -> dict[str, str]:
        record = {"from": self.before, "to": self.after, "by": self.by}
        if self.asked != self.before:
            record["asked"] = self.asked
        return record


def settle_priority(
    before: Priority, explicit: tuple[Priority, str] | None, *floors: tuple[Priority | None, str]
) -> PriorityChange | None:
    """`explicit` (priority, by) replaces `before` as is (a person may lower it); each floor may only raise
    the result. None when nothing changed."""
    priority, by = explicit if explicit is not None else (before, "ingest")
    asked = priority
    for floor, source in floors:
        if floor is not None and PRIORITY_RANK[floor] < PRIORITY_RANK[priority]:
            priority, by = floor, source
    if priority == before and asked == before:
        return None
    return PriorityChange(before=before, after=priority, by=by, asked=asked)


def raised(
    ticket_id: str, change: PriorityChange | None, reason: str, now: datetime
) -> tuple[TicketPriorityRaised, ...]:
    """The event ingest applies when the router raised a priority (none when ingest set it)."""
    if change is None or not change.raised_by_router:
        return ()
    return (
        TicketPriorityRaised(
            ticket_id=ticket_id,
            old_priority=change.asked,
            new_priority=change.after,
            by=change.by,
            reason=reason,
            raised_at=now,
        ),
    )


def route(
    facts: TicketFacts, *, reference: str, received_at: datetime, match: RuleMatch, queue: Queue, now: datetime
) -> tuple[RoutedTicket, tuple[Event, ...]]:
    """The ticket waits in the matched queue at its own priority, raised (never lowered) by the rule's
    and by the queue's default. Events: routed, the record, and priority_raised when raised."""
    change = settle_priority(
        facts.priority,
        None,
        (match.actions.priority, f"rule:{match.rule_id or 'default'}"),
        (queue.default_priority, f"queue:{queue.name}"),
    )
    priority = change.after if change else facts.priority
    ticket = RoutedTicket(
        ticket_id=facts.ticket_id,
        reference=reference,
        channel=facts.channel,
        brand=facts.brand,
        priority=priority,
        language=facts.language,
        status="waiting",
        queue=queue.name,
        received_at=received_at,
        routed_at=now,
        waiting_since=now,
        required_skills=dict(match.actions.required_skills),
        tags=tuple(dict.fromkeys((*facts.tags, *match.actions.add_tags))),
        rule_id=match.rule_id,
    )
    event = TicketRouted(
        ticket_id=ticket.ticket_id,
        queue=queue.name,
        priority=priority,
        rule=match.rule_id,
        reason=match.explanation,
        routed_at=now,
    )
    reason = match.explanation
    if change is not None:
        reason += f"; priority {change.before} -> {change.after} by {change.by}"
    kept = record("route", ticket, reason=reason, match=match, now=now, priority_change=change)
    return ticket, (event, kept, *raised(ticket.ticket_id, change, reason, now))


def requeue(
    ticket: RoutedTicket, *, now: datetime, queue: str | None = None, keep_declines: bool = False
) -> RoutedTicket:
    """Back to waiting (optionally in another queue); the last agent is remembered for affinity."""
    return replace(
        ticket,
        status="waiting",
        queue=queue or ticket.queue,
        agent_id=None,
        previous_agent_id=ticket.agent_id or ticket.previous_agent_id,
        offer_expires_at=None,
        waiting_since=now,
        declined_by=ticket.declined_by if keep_declines else (),
        skills_widened=False if queue else ticket.skills_widened,
        excluded_agent_id=None,
    )


def move(ticket: RoutedTicket, to_queue: str, reason: str, *, now: datetime) -> tuple[RoutedTicket, TicketQueueChanged]:
    event = TicketQueueChanged(
        ticket_id=ticket.ticket_id, from_queue=ticket.queue, to_queue=to_queue, reason=reason, changed_at=now
    )
    return requeue(ticket, now=now, queue=to_queue), event


def assign(
    ticket: RoutedTicket, queue: Queue, decision: AssignmentDecision, *, now: datetime
) -> tuple[RoutedTicket, TicketAssigned | TicketOffered, RoutingDecisionRecorded]:
    """Offer mode reserves the ticket for the agent until they accept; otherwise it is theirs at once."""
    agent_id = decision.agent_id
    assert agent_id is not None
    if queue.offer_mode:
        expires = now + timedelta(seconds=queue.offer_timeout_s)
        offered = replace(ticket, status="offered", agent_id=agent_id, offer_expires_at=expires)
        event: TicketAssigned | TicketOffered = TicketOffered(
            ticket_id=ticket.ticket_id, agent_id=agent_id, queue=queue.name, expires_at=expires, offered_at=now
        )
        return offered, event, _given_record("offer", offered, decision, now)
    assigned = replace(ticket, status="assigned", agent_id=agent_id, offer_expires_at=None)
    event = TicketAssigned(
        ticket_id=ticket.ticket_id, agent_id=agent_id, queue=queue.name, reason=decision.reason, assigned_at=now
    )
    return assigned, event, _given_record("assign", assigned, decision, now)


def _given_record(
    kind: DecisionKind, ticket: RoutedTicket, decision: AssignmentDecision, now: datetime
) -> RoutingDecisionRecorded:
    """An assign or offer record; from a shortlist (`AssignmentDecision.considered`) it says how many are not named."""
    reason = decision.reason
    unlisted = (decision.considered or 0) - len(decision.candidates)
    if unlisted > 0:
        reason += f"; {unlisted} more of {decision.considered} agents considered not listed (see excluded_counts)"
    return record(kind, ticket, reason=reason, decision=decision, now=now, excluded_counts=decision.excluded_counts)


def record(
    kind: DecisionKind,
    ticket: RoutedTicket,
    *,
    reason: str,
    now: datetime,
    match: RuleMatch | None = None,
    decision: AssignmentDecision | None = None,
    priority_change: PriorityChange | None = None,
    excluded_counts: Mapping[str, int] | None = None,
) -> RoutingDecisionRecorded:
    """The audit record: published as an event and kept for GET /v1/tickets/{id}/routing."""
    return RoutingDecisionRecorded(
        ticket_id=ticket.ticket_id,
        kind=kind,
        queue=ticket.queue,
        rule_id=match.rule_id if match else ticket.rule_id,
        agent_id=decision.agent_id if decision else ticket.agent_id,
        reason=reason,
        requirements=_requirements(decision),
        candidates=[_candidate(c) for c in decision.candidates] if decision else [],
        rule_trace=[{"rule_id": e.rule_id, "matched": e.matched, "failed": e.failed} for e in match.trace]
        if match
        else [],
        decided_at=now,
        priority_change=priority_change.as_record() if priority_change else None,
        excluded_counts=dict(excluded_counts or {}),
    )


WAIT_LISTED = 20  # agents named in a wait record; the counts cover all of them


def why_waiting(
    ticket: RoutedTicket, decision: AssignmentDecision, *, now: datetime, listed: int = WAIT_LISTED
) -> RoutingDecisionRecorded:
    """The record of a ticket that keeps waiting: every agent considered and what excluded them, at most
    `listed` named (the closest first: agents who fit the ticket's skills, team and language, then by
    how few reasons exclude them, then id), and per kind of exclusion how many agents it left out.
    A counted decision (`considered` set, from census.py) brings its counts over all agents along."""
    if decision.considered is None:
        counts: Mapping[str, int] = Counter(exclusion_kind(r) for c in decision.candidates for r in c.excluded)
        considered = len(decision.candidates)
    else:
        counts, considered = decision.excluded_counts, decision.considered
    ordered = sorted(decision.candidates, key=lambda c: closeness(c.excluded, c.agent_id))
    if considered == 0:
        reason = "no agents configured"
    elif decision.agent_id is None:
        reason = decision.reason
    else:
        reason = f"{decision.agent_id} could take it but had no room left when asked (changed meanwhile)"
    if considered > listed:
        reason += f"; {considered - listed} more agents not listed (see excluded_counts)"
    shown = replace(decision, candidates=tuple(ordered[:listed]))
    waiting = record("wait", ticket, reason=reason, now=now, decision=shown, excluded_counts=counts)
    return waiting.model_copy(update={"agent_id": None})


def _candidate(candidate: Candidate) -> dict[str, Any]:
    return {"agent_id": candidate.agent_id, "excluded": list(candidate.excluded), "score": candidate.score}


def _requirements(decision: AssignmentDecision | None) -> dict[str, Any]:
    if decision is None:
        return {}
    req = decision.requirements
    return {
        "skills": dict(req.skills),
        "team": req.team,
        "language": req.language,
        "step": req.step,
        "explanation": req.explanation,
    }
