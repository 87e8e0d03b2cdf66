"""A waiting ticket's record says why nobody took it: each agent considered and the filter that
excluded them, bounded (the first agents named, counts for all)."""

from __future__ import annotations

from services.router.domain.assignment import choose_agent, exclusion_kind
from services.router.domain.decide import WAIT_LISTED, why_waiting
from services.router.domain.model import AgentLoad
from tests.unit.router.factories import NOW, agent, queue, ticket


def test_every_agent_is_listed_with_the_filter_that_excluded_them() -> None:
    billing = queue(required_skills={"billing": 3}, require_language=True)
    rows = [
        (
            agent(
                "off",
                status="offline",
                skills={"billing": 5},
                languages=("en",),
                capacity={"email": 6},
                total_capacity=8,
            ),
            AgentLoad(),
        ),
        (
            agent("novice", skills={"billing": 1}, languages=("en",), capacity={"email": 6}, total_capacity=8),
            AgentLoad(),
        ),
        (
            agent("full", skills={"billing": 5}, languages=("en",), capacity={"email": 6}, total_capacity=8),
            AgentLoad(by_channel={"email": 6}, total=6),
        ),
        (
            agent("busy", skills={"billing": 5}, languages=("en",), capacity={"email": 6, "chat": 2}, total_capacity=8),
            AgentLoad(by_channel={"email": 4, "chat": 4}, total=8),
        ),
        (
            agent("german", skills={"billing": 5}, languages=("de",), capacity={"email": 6}, total_capacity=8),
            AgentLoad(),
        ),
    ]
    waiting = ticket(language="en")
    decision = choose_agent(waiting, billing, rows, NOW, last_round_robin_agent=None)
    record = why_waiting(waiting, decision, now=NOW)
    assert record.kind == "wait" and record.agent_id is None
    assert record.requirements["skills"] == {"billing": 3}
    excluded = {c["agent_id"]: c["excluded"] for c in record.candidates}
    assert excluded == {
        "busy": ["total full 8/8"],
        "full": ["email full 6/6"],
        "german": ["does not speak en (speaks de)"],
        "novice": ["skill billing 1 < 3"],
        "off": ["status offline"],
    }
    assert [c["agent_id"] for c in record.candidates] == ["busy", "full", "off", "german", "novice"], "closest first"
    assert record.excluded_counts == {
        "total full": 1,
        "email full": 1,
        "language en": 1,
        "skill billing": 1,
        "status offline": 1,
    }
    assert "none eligible" in record.reason


def test_a_big_floor_is_bounded_but_counted() -> None:
    rows = [
        (agent(f"a{i:02d}", status="offline", capacity={"email": 1}, total_capacity=1), AgentLoad()) for i in range(50)
    ]
    decision = choose_agent(ticket(), queue(), rows, NOW, last_round_robin_agent=None)
    record = why_waiting(ticket(), decision, now=NOW)
    assert len(record.candidates) == WAIT_LISTED
    assert record.excluded_counts == {"status offline": 50}
    assert record.reason == "no agent is online; 30 more agents not listed (see excluded_counts)"


def test_no_agents_at_all_is_said() -> None:
    decision = choose_agent(ticket(), queue(), [], NOW, last_round_robin_agent=None)
    assert why_waiting(ticket(), decision, now=NOW).reason == "no agents configured"


def test_exclusion_kinds_drop_the_numbers() -> None:
    assert exclusion_kind("no skill billing") == exclusion_kind("skill billing 1 < 3") == "skill billing"
    assert exclusion_kind("chat full 2/2") == "chat full"
    assert exclusion_kind("fairness limit 3 per 3600 s reached") == "fairness limit"
    assert exclusion_kind("not in team tier2 (team none)") == "team tier2"
    assert exclusion_kind("declined this ticket") == "declined this ticket"
