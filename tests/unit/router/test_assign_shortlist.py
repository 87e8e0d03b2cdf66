"""An assign record on a big floor names a shortlist (the chosen agent, the runners-up in the queue's
strategy's order, the closest excluded) and counts the rest; the choice itself is the same as when
every candidate is listed."""

from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta

import pytest

from services.router.domain import decide
from services.router.domain.assignment import choose_agent, exclusion_kind
from services.router.domain.model import AgentLoad
from tests.unit.router.factories import NOW, agent, queue, ticket


def _floor(rng: random.Random, size: int) -> list:
    rows = []
    for n in range(size):
        capacity = rng.randint(1, 6)
        person = agent(
            f"a{n:03d}",
            status=rng.choice(("online", "online", "away")),
            skills={"billing": rng.randint(1, 5)} if rng.random() < 0.8 else {},
            languages=("en",),
            capacity={"email": capacity},
            total_capacity=capacity,
            last_assigned_at=NOW - timedelta(seconds=rng.randint(0, 3600)) if rng.random() < 0.7 else None,
        )
        load = rng.randint(0, capacity)
        rows.append((person, AgentLoad(by_channel={"email": load}, total=load)))
    return rows


@pytest.mark.parametrize("strategy", ["least_loaded", "longest_idle", "round_robin"])
@pytest.mark.parametrize("seed", range(20))
def test_the_shortlist_keeps_the_choice_and_names_the_runners_up(strategy: str, seed: int) -> None:
    rng = random.Random(seed)
    rows = _floor(rng, rng.choice((5, 25, 80)))
    billing = queue(required_skills={"billing": 2}, strategy=strategy)
    waiting = ticket(previous_agent_id=rng.choice((None, "a003")))
    last = rng.choice((None, "a010", "a050"))
    full = choose_agent(waiting, billing, rows, NOW, last_round_robin_agent=last)
    short = choose_agent(waiting, billing, rows, NOW, last_round_robin_agent=last, listed=20)
    assert (short.agent_id, short.reason, short.requirements) == (full.agent_id, full.reason, full.requirements)
    if full.agent_id is None or len(rows) <= 20:
        assert short == full, "nobody chosen, or a small floor: every candidate is listed as before"
        return
    assert len(short.candidates) == 20 and short.considered == len(rows)
    assert set(short.candidates) <= set(full.candidates), "each listed candidate exactly as in the full list"
    assert [c.agent_id for c in short.candidates] == sorted(c.agent_id for c in short.candidates)
    assert full.agent_id in {c.agent_id for c in short.candidates}
    assert short.excluded_counts == Counter(exclusion_kind(r) for c in full.candidates for r in c.excluded)
    eligible = [c for c in full.candidates if not c.excluded]
    listed_eligible = [c for c in short.candidates if not c.excluded]
    assert len(listed_eligible) == min(len(eligible), 20), "eligible agents come before excluded ones"
    record = decide.assign(waiting, billing, short, now=NOW)[2]
    assert record.excluded_counts == dict(short.excluded_counts)
    assert record.reason.startswith(full.reason)
    assert f"{len(rows) - 20} more of {len(rows)} agents considered not listed" in record.reason


def test_least_loaded_runners_up_are_the_next_lowest_loads() -> None:
    rows = []
    for n in range(30):
        person = agent(f"a{n:02d}", capacity={"email": 10}, total_capacity=10)
        rows.append((person, AgentLoad(by_channel={"email": n % 10}, total=n % 10)))
    decision = choose_agent(ticket(), queue(), rows, NOW, last_round_robin_agent=None, listed=5)
    assert decision.agent_id == "a00"
    # loads 0 (a00, a10, a20) then 1 (a01, a11): never an agent at load 2 or more
    assert [c.agent_id for c in decision.candidates] == ["a00", "a01", "a10", "a11", "a20"]
