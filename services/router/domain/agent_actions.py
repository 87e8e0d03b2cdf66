"""What agents' actions do to tickets: status changes, offers accepted, declined or lapsed, transfers. Pure.

Every function takes the current state and `now` and returns the `Change` to apply (None: nothing to
do), or raises `RoutingConflict` when the action does not fit the ticket's state.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from services.router.domain.change import Change
from services.router.domain.decide import move, record, requeue
from services.router.domain.model import Agent, AgentStatus, Queue, RoutedTicket
from shared.events.routing import AgentStatusChanged, TicketAssigned, TicketOfferDeclined

DeclineReason = Literal["declined", "timeout", "agent_offline"]


class RoutingConflict(ValueError):
    """The request does not fit the ticket's or agent's current state (HTTP 409)."""


class NotFound(LookupError):
    """No such ticket or agent (HTTP 404)."""


@dataclass(frozen=True)
class StatusChange:
    agent: Agent
    event: AgentStatusChanged

    @property
    def hands_back(self) -> bool:
        """An agent who is no longer online keeps no offers (and, offline, maybe not their work)."""
        return self.agent.status != "online"


def change_status(agent: Agent, status: AgentStatus, now: datetime) -> StatusChange | None:
    if agent.status == status:
        return None
    event = AgentStatusChanged(agent_id=agent.id, old_status=agent.status, new_status=status, changed_at=now)
    return StatusChange(agent=replace(agent, status=status, status_changed_at=now), event=event)


def hand_back(
    ticket: RoutedTicket, queue: Queue, agent_id: str, *, status: AgentStatus, now: datetime
) -> Change | None:
    """Offers lapse when an agent leaves (the same path as a decline or a timeout: `lapse_offer`); going
    offline also returns their chats (and emails, if the queue says so)."""
    if ticket.status == "offered":
        return lapse_offer(ticket, "agent_offline", now)
    if status == "offline" and (ticket.channel == "chat" or queue.requeue_email_on_offline):
        back = requeue(ticket, now=now)
        why = f"{agent_id} went offline; {ticket.channel} back to the queue"
        return Change(
            ticket=back,
            events=(record("requeue", back, reason=why, now=now),),
            release=True,
            unassign_reason=why,
            unassign_cause="agent_offline",
        )
    return None


def check_offered_to(ticket: RoutedTicket, agent_id: str) -> None:
    if ticket.status != "offered" or ticket.agent_id != agent_id:
        raise RoutingConflict(f"{ticket.reference} is not on offer to {agent_id} (it is {ticket.status})")


def accept_offer(ticket: RoutedTicket, agent_id: str, now: datetime) -> Change:
    check_offered_to(ticket, agent_id)
    accepted = replace(ticket, status="assigned", offer_expires_at=None)
    assigned = TicketAssigned(
        ticket_id=ticket.ticket_id, agent_id=agent_id, queue=ticket.queue, reason="offer accepted", assigned_at=now
    )
    return Change(ticket=accepted, events=(assigned, record("assign", accepted, reason="offer accepted", now=now)))


def decline_offer(ticket: RoutedTicket, agent_id: str, now: datetime) -> Change:
    check_offered_to(ticket, agent_id)
    return lapse_offer(ticket, "declined", now)


def lapse_offer(ticket: RoutedTicket, reason: DeclineReason, now: datetime) -> Change:
    """A declined, expired or handed-back offer (the agent left): the agent is not asked again, the
    ticket waits for the next one, its wait clock running on, and the agent is told it is gone."""
    agent_id = ticket.agent_id
    assert agent_id is not None, "an offered ticket has the agent it is offered to"
    declined = TicketOfferDeclined(ticket_id=ticket.ticket_id, agent_id=agent_id, reason=reason, declined_at=now)
    back = requeue(replace(ticket, declined_by=(*ticket.declined_by, agent_id)), now=now, keep_declines=True)
    back = replace(back, waiting_since=ticket.waiting_since)  # the wait is the customer's, it does not restart
    why = f"offer to {agent_id} {reason}"
    kept = record("requeue", back, reason=why, now=now)
    cause = "agent_offline" if reason == "agent_offline" else f"offer_{reason}"
    return Change(ticket=back, events=(declined, kept), release=True, unassign_reason=why, unassign_cause=cause)


def _check_transferable(ticket: RoutedTicket) -> None:
    if ticket.status == "done":
        raise RoutingConflict(f"{ticket.reference} is solved or closed")


def transfer_to_queue(
    ticket: RoutedTicket, to_queue: str, *, by: str, now: datetime, allow_same_agent: bool = False
) -> Change:
    """The ticket waits in the other queue; whoever held it loses it and, unless `allow_same_agent`,
    is not given it back there (affinity would otherwise hand it straight back to them)."""
    _check_transferable(ticket)
    holder = ticket.agent_id if ticket.status in ("assigned", "offered") else None
    why = f"transferred to queue {to_queue} by {by}"
    note = f"{why}; not back to {holder}" if holder and not allow_same_agent else why
    moved, changed = move(ticket, to_queue, f"transferred by {by}", now=now)
    if not allow_same_agent:
        moved = replace(moved, excluded_agent_id=holder)
    return Change(
        ticket=moved,
        events=(changed, record("transfer", moved, reason=note, now=now)),
        release=True,
        unassign_reason=why,
        unassign_cause="transferred",
    )


def transfer_to_agent(
    ticket: RoutedTicket, to_agent: str, target: Agent | None, *, by: str, now: datetime
) -> Change | None:
    """Theirs at once (skills are the transferring person's call; capacity is the database's: see `no_room`).
    None when it is theirs already."""
    _check_transferable(ticket)
    if target is None:
        raise NotFound(to_agent)
    if ticket.agent_id == to_agent and ticket.status == "assigned":
        return None
    why = f"transferred to {to_agent} by {by}"
    assigned = replace(
        ticket,
        status="assigned",
        agent_id=to_agent,
        offer_expires_at=None,
        previous_agent_id=ticket.agent_id or ticket.previous_agent_id,
    )
    event = TicketAssigned(
        ticket_id=ticket.ticket_id,
        agent_id=to_agent,
        queue=ticket.queue,
        reason=f"transferred by {by}",
        assigned_at=now,
    )
    return Change(
        ticket=assigned,
        events=(event, record("transfer", assigned, reason=why, now=now)),
        release=True,
        unassign_reason=why,
        unassign_cause="transferred",
    )


def no_room(ticket: RoutedTicket, agent_id: str) -> RoutingConflict:
    return RoutingConflict(f"{agent_id} is not online or has no room for another {ticket.channel} ticket")
