"""An escalation naming an agent: they take the ticket when online with room, whatever the queue's strategy or skills."""

from __future__ import annotations

from typing import Any

import pytest

from services.router.domain.model import Agent, AgentLoad, RoutedTicket
from services.router.domain.requested_agent import ask_for, handed_over, not_now
from tests.unit.router import factories
from tests.unit.router.factories import NOW, held, offered, queue, ticket


def agent(**overrides: Any) -> Agent:
    return factories.agent(**{"capacity": {"email": 6, "chat": 2}, "total_capacity": 6, **overrides})


ROOMY = AgentLoad(by_channel={"email": 1}, total=1)


def test_an_online_agent_with_room_takes_it_without_the_skills_or_the_strategy() -> None:
    decision = ask_for(ticket(), queue(required_skills={"billing": 3}), "ada", agent(skills={}), ROOMY, NOW)
    assert decision is not None and decision.agent_id == "ada"
    assert decision.reason.startswith("escalation asked for ada: online with room (load 1/")
    assert "least_loaded not applied" in decision.reason
    assert [(c.agent_id, c.excluded) for c in decision.candidates] == [("ada", ())]


@pytest.mark.parametrize(
    ("named", "load", "why"),
    [
        pytest.param(None, AgentLoad(), "no such agent", id="unknown"),
        pytest.param(agent(status="away"), AgentLoad(), "status away", id="away"),
        pytest.param(
            agent(capacity={"email": 2}), AgentLoad(by_channel={"email": 2}, total=2), "email full 2/2", id="channel"
        ),
        pytest.param(agent(total_capacity=1), AgentLoad(by_channel={"chat": 1}, total=1), "total full 1/1", id="total"),
    ],
)
def test_an_agent_who_cannot_take_it_now_is_told_apart(named: Agent | None, load: AgentLoad, why: str) -> None:
    decision = ask_for(ticket(), queue(), "ada", named, load, NOW)
    assert decision is not None and decision.agent_id is None
    assert decision.reason == f"escalation asked for ada, who cannot take it now ({why}); it waits in billing as usual"
    kept = not_now(ticket(), decision, NOW)
    assert (kept.kind, kept.agent_id, kept.candidates[0]["excluded"]) == ("wait", None, [why])


def test_a_held_ticket_stays_with_its_agent_when_the_named_one_is_full() -> None:
    full = AgentLoad(by_channel={"email": 6}, total=6)
    decision = ask_for(held("bob"), queue(), "ada", agent(capacity={"email": 6}), full, NOW)
    assert decision is not None and decision.reason.endswith("it stays with bob")
    kept = not_now(held("bob"), decision, NOW)
    assert (kept.kind, kept.agent_id) == ("route", "bob")


@pytest.mark.parametrize("state", [held("ada"), offered("ada"), ticket(status="done")])
def test_nothing_to_decide_when_it_is_theirs_already_or_done(state: RoutedTicket) -> None:
    assert ask_for(state, queue(), "ada", agent(), ROOMY, NOW) is None


def test_the_agent_who_held_it_becomes_the_previous_agent() -> None:
    assert handed_over(held("bob")).previous_agent_id == "bob"
    assert handed_over(ticket(previous_agent_id="cy")).previous_agent_id == "cy"
