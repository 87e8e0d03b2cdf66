"""Agents' actions as pure decisions: status changes and what an agent leaving hands back, offers, transfers."""

from __future__ import annotations

from typing import Literal

import pytest

from services.router.domain.agent_actions import (
    NotFound,
    RoutingConflict,
    accept_offer,
    change_status,
    decline_offer,
    hand_back,
    lapse_offer,
    no_room,
    transfer_to_agent,
    transfer_to_queue,
)
from services.router.domain.assignment import choose_agent
from services.router.domain.change import Change, unassigned
from services.router.domain.decide import requeue
from services.router.domain.model import AgentLoad, AgentStatus, RoutedTicket
from shared.events.routing import AgentStatusChanged, TicketAssigned, TicketOfferDeclined, TicketUnassigned
from tests.unit.router.factories import NOW, agent, ago, events, held, offered, queue, ticket


@pytest.mark.parametrize(
    ("old", "new", "hands_back"),
    [("offline", "online", False), ("online", "away", True), ("online", "offline", True), ("away", "online", False)],
)
def test_a_status_change_is_announced_and_leaving_hands_work_back(
    old: AgentStatus, new: AgentStatus, hands_back: bool
) -> None:
    change = change_status(agent(status=old), new, NOW)
    assert change is not None
    assert (change.agent.status, change.agent.status_changed_at) == (new, NOW)
    assert change.event == AgentStatusChanged(agent_id="ada", old_status=old, new_status=new, changed_at=NOW)
    assert change.hands_back is hands_back


def test_the_same_status_again_changes_nothing() -> None:
    assert change_status(agent(status="away"), "away", NOW) is None


@pytest.mark.parametrize(
    ("holding", "status", "requeue_email", "expected"),
    [
        pytest.param(offered(), "away", False, "declined", id="away: an offer lapses"),
        pytest.param(offered(), "offline", False, "declined", id="offline: an offer lapses"),
        pytest.param(held(channel="chat"), "offline", False, "requeued", id="offline: chats go back"),
        pytest.param(held(), "offline", False, None, id="offline: emails stay by default"),
        pytest.param(held(), "offline", True, "requeued", id="offline: emails go back if the queue says so"),
        pytest.param(held(channel="chat"), "away", False, None, id="away: chats stay"),
    ],
)
def test_what_an_agent_leaving_hands_back(
    holding: RoutedTicket, status: AgentStatus, requeue_email: bool, expected: str | None
) -> None:
    change = hand_back(holding, queue(requeue_email_on_offline=requeue_email), "ada", status=status, now=NOW)
    if expected is None:
        assert change is None
        return
    assert change is not None
    assert change.release
    assert change.unassign_cause == "agent_offline"
    if expected == "declined":
        assert change == lapse_offer(holding, "agent_offline", NOW), "one path with declines and timeouts"
        assert (change.ticket.status, change.ticket.agent_id, change.ticket.waiting_since) == ("waiting", None, ago(60))
        assert events(change) == [
            ("TicketOfferDeclined", "agent_offline"),
            ("record", "requeue: offer to ada agent_offline"),
        ]
        assert change.ticket.declined_by == ("ada",)
        assert change.unassign_reason == "offer to ada agent_offline"
    else:
        assert (change.ticket.status, change.ticket.agent_id, change.ticket.waiting_since) == ("waiting", None, NOW)
        why = f"ada went offline; {holding.channel} back to the queue"
        assert events(change) == [("record", f"requeue: {why}")]
        assert change.ticket.previous_agent_id == "ada"
        assert change.unassign_reason == why


def test_accepting_an_offer_makes_the_ticket_the_agents() -> None:
    change = accept_offer(offered(), "ada", NOW)
    assert (change.ticket.status, change.ticket.agent_id, change.ticket.offer_expires_at) == ("assigned", "ada", None)
    assert events(change) == [("TicketAssigned", "offer accepted"), ("record", "assign: offer accepted")]
    assert not change.release, "the offer's reservation becomes the assignment"


@pytest.mark.parametrize(
    ("state", "agent_id", "message"),
    [
        (held(), "ada", "SB-1 is not on offer to ada (it is assigned)"),
        (offered("bob"), "ada", "SB-1 is not on offer to ada (it is offered)"),
        (ticket(), "ada", "SB-1 is not on offer to ada (it is waiting)"),
    ],
)
def test_only_the_agent_an_offer_is_for_can_accept_or_decline_it(
    state: RoutedTicket, agent_id: str, message: str
) -> None:
    with pytest.raises(RoutingConflict, match=message.replace("(", r"\(").replace(")", r"\)")):
        accept_offer(state, agent_id, NOW)
    with pytest.raises(RoutingConflict):
        decline_offer(state, agent_id, NOW)


@pytest.mark.parametrize("reason", ["declined", "timeout"])
def test_a_lapsed_offer_waits_again_without_restarting_the_wait(reason: str) -> None:
    change = decline_offer(offered(), "ada", NOW) if reason == "declined" else lapse_offer(offered(), "timeout", NOW)
    assert change.release
    assert change.ticket.status == "waiting"
    assert change.ticket.waiting_since == ago(60), "the wait is the customer's"
    assert change.ticket.declined_by == ("ada",)
    assert events(change) == [("TicketOfferDeclined", reason), ("record", f"requeue: offer to ada {reason}")]


def test_a_transfer_to_a_queue_takes_the_ticket_from_its_agent() -> None:
    change = transfer_to_queue(held(), "tier2", by="mia", now=NOW)
    assert (change.ticket.queue, change.ticket.status, change.ticket.agent_id) == ("tier2", "waiting", None)
    assert events(change) == [
        ("TicketQueueChanged", "transferred by mia"),
        ("record", "transfer: transferred to queue tier2 by mia; not back to ada"),
    ]
    assert (change.release, change.unassign_reason) == (True, "transferred to queue tier2 by mia")


def test_a_transfer_to_a_queue_is_not_given_back_to_the_agent_who_held_it_unless_asked() -> None:
    tier2 = queue(name="tier2")
    ada = agent("ada", capacity={"email": 6}, total_capacity=8)
    moved = transfer_to_queue(held("ada"), "tier2", by="ada", now=NOW).ticket
    assert moved.excluded_agent_id == "ada" and moved.previous_agent_id == "ada"
    decision = choose_agent(moved, tier2, [(ada, AgentLoad())], NOW, last_round_robin_agent=None)
    assert decision.agent_id is None and "transferred this ticket away" in decision.candidates[0].excluded

    allowed = transfer_to_queue(held("ada"), "tier2", by="ada", now=NOW, allow_same_agent=True).ticket
    again = choose_agent(allowed, tier2, [(ada, AgentLoad())], NOW, last_round_robin_agent=None)
    assert (again.agent_id, again.reason) == ("ada", "affinity: previous agent ada")
    assert requeue(moved, now=NOW).excluded_agent_id is None, "a later requeue (e.g. reopen) forgets it"


@pytest.mark.parametrize(
    ("state", "outcome"),
    [
        pytest.param(ticket(), "assigned", id="a waiting ticket"),
        pytest.param(held("bob"), "assigned", id="from another agent"),
        pytest.param(offered("ada"), "assigned", id="on offer to the same agent"),
        pytest.param(held("ada"), "unchanged", id="already theirs"),
        pytest.param(ticket(status="done"), "conflict", id="solved"),
    ],
)
def test_a_transfer_to_an_agent(state: RoutedTicket, outcome: str) -> None:
    if outcome == "conflict":
        with pytest.raises(RoutingConflict, match="SB-1 is solved or closed"):
            transfer_to_agent(state, "ada", agent(), by="mia", now=NOW)
        return
    change = transfer_to_agent(state, "ada", agent(), by="mia", now=NOW)
    if outcome == "unchanged":
        assert change is None
        return
    assert change is not None
    assert (change.ticket.status, change.ticket.agent_id) == ("assigned", "ada")
    assert change.ticket.previous_agent_id == state.agent_id
    assert events(change) == [
        ("TicketAssigned", "transferred by mia"),
        ("record", "transfer: transferred to ada by mia"),
    ]
    assert (change.release, change.unassign_reason) == (True, "transferred to ada by mia")


def test_a_transfer_of_a_solved_ticket_is_refused_before_the_agent_is_looked_at() -> None:
    with pytest.raises(RoutingConflict):
        transfer_to_agent(ticket(status="done"), "nobody", None, by="mia", now=NOW)
    with pytest.raises(RoutingConflict):
        transfer_to_queue(ticket(status="done"), "tier2", by="mia", now=NOW)
    with pytest.raises(NotFound):
        transfer_to_agent(ticket(), "nobody", None, by="mia", now=NOW)


def test_no_room_names_the_agent_and_the_channel() -> None:
    assert str(no_room(ticket(channel="chat"), "ada")) == "ada is not online or has no room for another chat ticket"


@pytest.mark.parametrize(
    ("state", "released_from", "announced"),
    [(held(), "ada", True), (held(), None, False), (offered(), "ada", True), (ticket(), None, False)],
)
def test_an_agent_who_held_the_ticket_or_its_offer_is_told_they_lost_it(
    state: RoutedTicket, released_from: str | None, announced: bool
) -> None:
    event = unassigned(state, released_from, "why", NOW, "transferred")
    held_as: Literal["assigned", "offered"] = "offered" if state.status == "offered" else "assigned"
    expected = TicketUnassigned(
        ticket_id="t-1", agent_id="ada", reason="why", unassigned_at=NOW, cause="transferred", held_as=held_as
    )
    assert event == (expected if announced else None)


def test_events_are_the_shared_wire_types() -> None:
    change: Change = accept_offer(offered(), "ada", NOW)
    assert isinstance(change.events[0], TicketAssigned)
    assert isinstance(lapse_offer(offered(), "timeout", NOW).events[0], TicketOfferDeclined)
