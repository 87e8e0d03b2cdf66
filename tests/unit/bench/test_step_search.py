"""The order of the load steps (bench/steps.py `search`): the fixed rates, the search for the highest
sustained rate, then the one for the highest rate held with p99 to assigned within 250 ms. Each step
is stood in for by a floor model: the rate holds up to 60/s, and its p99 grows with the rate."""

from __future__ import annotations

from typing import Any

import pytest

from bench import stats, steps


def _model(capacity: float, ms_per_rate: float, stuck_at: float | None = None):
    calls: list[float] = []

    async def load_step(floor: Any, generator: Any, meter: Any, rate: float, options: Any, keep: Any) -> dict:
        calls.append(rate)
        held = rate <= capacity
        return {
            "offered_rate": rate,
            "sustained": held,
            "assigned_rate": min(rate, capacity),
            "to_assigned": {"p99_ms": rate * ms_per_rate if held else 60_000.0},
            "reason": "kept up" if held else "backlog grew",
            "unassigned_after_drain": 5 if rate == stuck_at else 0,
        }

    return load_step, calls


async def _search(monkeypatch: pytest.MonkeyPatch, model, **kwargs: Any) -> list[dict[str, Any]]:
    monkeypatch.setattr(steps, "load_step", model)
    options = steps.StepOptions(duration_s=1.0)
    return await steps.search(None, None, None, options, say=lambda _: None, **kwargs)  # type: ignore[arg-type]


def _within(results: list[dict[str, Any]]) -> float | None:
    return stats.highest_within((r["offered_rate"], r["sustained"], r["to_assigned"]["p99_ms"]) for r in results)


async def test_the_latency_steps_find_a_rate_within_the_target_below_the_highest_sustained(monkeypatch) -> None:
    model, calls = _model(capacity=60, ms_per_rate=15)  # within 250 ms up to 16/s
    results = await _search(monkeypatch, model, max_steps=8, latency_steps=4)
    assert calls == [100, 500, 67, 45, 56, 62, 59, 30, 20, 13, 16]  # fixed, sustained (to 10 %), within
    assert stats.best_sustained({r["offered_rate"]: r["sustained"] for r in results}) == 59
    assert _within(results) == 16


async def test_without_latency_steps_no_rate_within_the_target_is_found_here(monkeypatch) -> None:
    model, calls = _model(capacity=60, ms_per_rate=15)
    results = await _search(monkeypatch, model, max_steps=8, latency_steps=0)
    assert calls == [100, 500, 67, 45, 56, 62, 59] and _within(results) is None


async def test_a_step_whose_tickets_did_not_drain_ends_the_search(monkeypatch) -> None:
    model, calls = _model(capacity=60, ms_per_rate=15, stuck_at=67)
    await _search(monkeypatch, model, max_steps=8, latency_steps=4)
    assert calls == [100, 500, 67]


@pytest.mark.parametrize(
    ("sustained", "p99_ms", "within"),
    [(True, 249.0, True), (True, 250.0, True), (True, 251.0, False), (False, 10.0, False), (True, None, False)],
)
def test_within_target_needs_the_rate_held_and_a_p99_at_most_250_ms(sustained, p99_ms, within) -> None:
    assert stats.within_target(sustained, p99_ms) is within
