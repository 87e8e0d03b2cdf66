"""Clocks are a function of the ticket's events: arrival order and redelivery never change them; and fast."""

from __future__ import annotations

import random
import time
from typing import get_args

from hypothesis import given, settings
from hypothesis import strategies as st

from services.sla.domain.clocks import evaluate, order, transitions
from services.sla.domain.model import Conditions
from shared.events.base import Event
from shared.events.tickets import Priority, Status
from tests.unit.sla import OFFICE, H, at, config, message, policy, priority, received, status, tags, target

CFG = config(
    policy(
        "urgent",
        target("first_reply", H // 2, warn_percent=50),
        target("next_reply", H // 2),
        target("resolution", 2 * H, business_hours=False),
        conditions=Conditions(priority=("urgent",)),
        calendar_id="office",
    ),
    policy(
        "standard",
        target("first_reply", H, warn_before_s=600),
        target("next_reply", H),
        target("periodic_update", 2 * H),
        target("resolution", 8 * H),
        calendar_id="office",
    ),
    calendars={"office": OFFICE},
)

minutes = st.integers(min_value=0, max_value=3 * 24 * 60)
statuses = st.sampled_from(get_args(Status))
priorities = st.sampled_from(get_args(Priority))
events = st.one_of(
    st.builds(message, minutes, st.sampled_from(["agent", "customer", "system"]), public=st.booleans()),
    st.builds(status, minutes, statuses, statuses),
    st.builds(priority, minutes, priorities, priorities),
    st.builds(tags, minutes, st.sampled_from(["vip", "refund"])),
)
histories = st.lists(events, max_size=25).map(lambda later: [received(), *later])


@settings(max_examples=150, deadline=None)
@given(history=histories, shuffled=st.randoms(use_true_random=False), extra=st.lists(st.integers(0, 24)), now=minutes)
def test_any_permutation_or_duplication_of_the_events_gives_the_same_sla(
    history: list[Event], shuffled: random.Random, extra: list[int], now: int
) -> None:
    redelivered = history + [history[i % len(history)] for i in extra]
    shuffled.shuffle(redelivered)
    expected = evaluate(history, CFG, at(now))
    got = evaluate(redelivered, CFG, at(now))
    assert got == expected
    if expected is not None and got is not None:
        assert transitions(got) == transitions(expected)
    assert order(redelivered) == order(history)


def _busy_ticket() -> list[Event]:
    history: list[Event] = [received()]
    for i in range(1, 50):
        kind = i % 5
        if kind == 0:
            history.append(status(i * 7, "open", "pending" if i % 10 else "open"))
        elif kind == 1:
            history.append(status(i * 7, "pending", "open"))
        elif kind == 2:
            history.append(message(i * 7, "customer"))
        else:
            history.append(message(i * 7, "agent", public=kind == 3))
    return history


def test_a_ticket_with_fifty_events_evaluates_in_a_few_milliseconds() -> None:
    history = _busy_ticket()
    assert len(history) == 50
    evaluate(history, CFG, at(400))  # warm up
    runs = 20
    started = time.perf_counter()
    for _ in range(runs):
        got = evaluate(history, CFG, at(400))
    per_call = (time.perf_counter() - started) / runs
    assert got is not None and len(got.clocks) > 5
    assert per_call < 0.010, f"{per_call * 1000:.1f} ms per evaluation"
