"""An escalation that names an agent: whether that agent takes the ticket now. Pure: `now` is a parameter.

The agent gets it when they are online with room on its channel and in total: the queue's
strategy, affinity, skills, team and language are the escalation's call, capacity never is (and
the database has the last word on it, `reserve`). A ticket another agent holds is taken from them
only when the named agent can have it. Otherwise nothing changes hands: the ticket stays with
whoever holds it, or waits in its queue for the queue's own choice, and a decision record says why.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from services.router.domain.assignment import AssignmentDecision, Candidate, no_room, requirements, score
from services.router.domain.decide import DecisionKind, record
from services.router.domain.model import Agent, AgentLoad, Queue, RoutedTicket
from shared.events.routing import RoutingDecisionRecorded


def holder(ticket: RoutedTicket) -> str | None:
    """The agent the ticket is assigned or on offer to, if any."""
    return ticket.agent_id if ticket.status in ("assigned", "offered") else None


def ask_for(
    ticket: RoutedTicket, queue: Queue, agent_id: str, agent: Agent | None, load: AgentLoad, now: datetime
) -> AssignmentDecision | None:
    """The named agent's turn: `agent_id` set when they take it now, None in it when they cannot (the
    reason says why); None when there is nothing to decide (done, or theirs already)."""
    if ticket.status == "done" or holder(ticket) == agent_id:
        return None
    excluded: tuple[str, ...]
    if agent is None:
        excluded = ("no such agent",)
    else:
        excluded = (f"status {agent.status}",) if agent.status != "online" else ()
        excluded += no_room(agent, load, ticket)
    req = requirements(queue, ticket, now, ())
    shown = None if excluded or agent is None else score(agent, load, now)
    candidates = (Candidate(agent_id, excluded, shown),)
    if excluded:
        then = f"it stays with {holder(ticket)}" if holder(ticket) else f"it waits in {queue.name} as usual"
        why = f"escalation asked for {agent_id}, who cannot take it now ({', '.join(excluded)}); {then}"
        return AssignmentDecision(None, req, candidates, why)
    why = f"escalation asked for {agent_id}: online with room ({shown}); the queue's {queue.strategy} not applied"
    return AssignmentDecision(agent_id, req, candidates, why)


def handed_over(ticket: RoutedTicket) -> RoutedTicket:
    """The ticket as the named agent takes it: whoever held it becomes the previous agent."""
    return replace(ticket, previous_agent_id=holder(ticket) or ticket.previous_agent_id, offer_expires_at=None)


def not_now(ticket: RoutedTicket, decision: AssignmentDecision, now: datetime) -> RoutingDecisionRecorded:
    """The record of an agent the escalation asked for who could not take the ticket."""
    kept = record(_kind(ticket), ticket, reason=decision.reason, now=now, decision=decision)
    return kept.model_copy(update={"agent_id": holder(ticket)})


def no_room_after_all(ticket: RoutedTicket, agent_id: str, now: datetime) -> RoutingDecisionRecorded:
    """The database refused the named agent's reservation (their load changed meanwhile)."""
    then = f"it stays with {holder(ticket)}" if holder(ticket) else "it waits as usual"
    why = f"escalation asked for {agent_id}, who had no room left when asked (changed meanwhile); {then}"
    kept = record(_kind(ticket), ticket, reason=why, now=now)
    return kept.model_copy(update={"agent_id": holder(ticket)})


def _kind(ticket: RoutedTicket) -> DecisionKind:
    return "wait" if ticket.status == "waiting" else "route"
