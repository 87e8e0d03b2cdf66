"""The benchmark's arithmetic: percentiles, when a step counts as sustained, the rate search, latest.json."""

from __future__ import annotations

import json
import math

import pytest

from bench import stats
from bench.clients import _parse_head


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([1.0, 2.0, 3.0, 4.0], 0.5, 2.5),
        ([1.0, 2.0, 3.0, 4.0], 0.0, 1.0),
        ([1.0, 2.0, 3.0, 4.0], 1.0, 4.0),
        ([10.0], 0.99, 10.0),
        (list(range(1, 101)), 0.99, 99.01),
        ([5.0, 1.0, 3.0], 0.5, 3.0),  # unsorted input
    ],
)
def test_percentile_interpolates_like_percentile_cont(values: list[float], q: float, expected: float) -> None:
    assert stats.percentile(values, q) == pytest.approx(expected)


def test_percentile_of_nothing_is_nan_and_q_is_checked() -> None:
    assert math.isnan(stats.percentile([], 0.5))
    with pytest.raises(ValueError, match="0..1"):
        stats.percentile([1.0], 99)


def test_latency_summary_is_in_milliseconds_and_json_safe() -> None:
    summary = stats.Latency.of([0.010, 0.020, 0.030])
    assert summary.p50_ms == pytest.approx(20.0)
    assert summary.max_ms == pytest.approx(30.0)
    assert summary.count == 3
    assert stats.Latency.of([]).as_dict()["p99_ms"] is None


def _step(**changes: object) -> stats.StepCounts:
    fields: dict[str, object] = dict(
        offered_rate=100.0,
        duration_s=10.0,
        accepted=1000,
        failed=0,
        assigned_in_step=990,
        assigned_after_grace=1000,
        backlog=(5, 8, 6, 7, 5, 6),
        send_lag_p99_s=0.01,
    )
    fields.update(changes)
    return stats.StepCounts(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "held", "why"),
    [
        ({}, True, "kept up"),
        ({"accepted": 800}, False, "only 800 of 1000 offered were accepted"),
        ({"send_lag_p99_s": 3.0}, False, "senders fell 3.0 s behind"),
        ({"failed": 100}, False, "100 requests failed"),
        ({"assigned_after_grace": 900}, False, "only 900 of 1000 accepted were assigned"),
        ({"backlog": (0, 50, 100, 200, 400, 800)}, False, "backlog grew by 600"),
        # a backlog that grows in the first half (the step ramping up) but is flat afterwards is fine
        ({"backlog": (0, 150, 300, 300, 290, 310)}, True, "kept up"),
    ],
)
def test_a_step_is_sustained_only_when_everything_kept_up(changes: dict[str, object], held: bool, why: str) -> None:
    ok, reason = stats.sustained(_step(**changes))
    assert ok is held
    assert why in reason


@pytest.mark.parametrize(
    ("tried", "expected"),
    [
        ({}, 500),
        ({100: True, 500: True}, 750),
        ({100: True, 500: True, 750: True}, 1125),
        ({100: True, 500: False}, 300),
        ({100: True, 500: False, 300: True}, 400),
        ({100: True, 500: False, 300: True, 400: False}, 350),
        ({100: True, 500: False, 300: True, 400: False, 350: True}, 375),
        ({100: True, 500: False, 300: True, 400: False, 350: True, 375: True}, None),  # within 10 %
        ({100: False, 500: False}, 67),
        ({1: False}, None),
    ],
)
def test_rate_search_goes_up_down_then_bisects(tried: dict[float, bool], expected: float | None) -> None:
    assert stats.next_rate(tried, start=500) == expected


def test_best_sustained_ignores_a_lucky_rate_above_a_failure() -> None:
    assert stats.best_sustained({100: True, 300: False, 400: True}) == 100
    assert stats.best_sustained({100: True, 300: True}) == 300
    assert stats.best_sustained({100: False}) is None


def test_highest_within_target_needs_both_sustained_and_p99() -> None:
    steps = [(100, True, 40.0), (500, True, 260.0), (300, True, 249.0), (700, False, 100.0), (50, True, math.nan)]
    assert stats.highest_within(steps) == 300
    assert stats.highest_within([(100, False, 10.0)]) is None


def test_replica_rounds_are_summed_per_router_count_weighing_each_by_its_seconds() -> None:
    rounds = [
        {"routers": 1, "tickets": 3000, "assigned": 3000, "seconds": 30.0},
        {"routers": 2, "tickets": 3000, "assigned": 3000, "seconds": 60.0},
        {"routers": 1, "tickets": 3000, "assigned": 3000, "seconds": 50.0},
        {"routers": 2, "tickets": 3000, "assigned": 2900, "seconds": 20.0},
    ]
    totals = stats.replica_totals(rounds)
    assert totals["one"] == {"tickets": 6000, "assigned": 6000, "seconds": 80.0, "rate": 75.0, "rounds": 2}
    # 5,900 over 80 s, not the mean of 50/s and 145/s
    assert totals["two"] == {"tickets": 6000, "assigned": 5900, "seconds": 80.0, "rate": 73.8, "rounds": 2}
    assert stats.replica_totals([]) == {}


def test_flatness_is_largest_over_smallest() -> None:
    assert stats.flatness({1: 2.0, 2: 3.0, 3: 4.0}) == pytest.approx(2.0)
    assert stats.flatness({1: 2.0}) is None


def _values() -> dict[str, object]:
    return {
        "throughput_tps": 120.5,
        "p99_assigned_ms_at_500": None,
        "p50_assigned_ms_at_500": float("nan"),
        "sla_lateness_p99_s": 0.2,
        "open_timers": 200_000,
        "router_replicas_speedup": 0.9,
        "idle_cpu_pct": 3.1,
        "limits": {"pg_commits_per_s": {"1_connection": 400.0}, "kafka_msgs_per_s": 30_000.0},
        "machine": {"cpus": 2},
        "timestamp": "2026-12-01T00:00:00+00:00",
    }


def test_result_document_has_exactly_the_keys_and_is_valid_json() -> None:
    doc = stats.result_document(_values(), {"steps": [{"p99": float("inf")}], "pair": (1, 2)})
    assert list(doc) == [*stats.RESULT_KEYS, "detail"]
    assert doc["p50_assigned_ms_at_500"] is None  # NaN is not JSON
    assert doc["detail"] == {"steps": [{"p99": None}], "pair": [1, 2]}
    assert stats.check_document(json.loads(json.dumps(doc, allow_nan=False))) == []


def test_result_document_refuses_unknown_keys_and_incomplete_limits() -> None:
    with pytest.raises(ValueError, match="not result keys"):
        stats.result_document({**_values(), "throughput": 1}, {})
    with pytest.raises(ValueError, match="kafka_msgs_per_s"):
        stats.result_document({**_values(), "limits": {"pg_commits_per_s": 1}}, {})


def test_check_document_names_what_is_wrong() -> None:
    doc = stats.result_document(_values(), {})
    del doc["open_timers"]
    doc["idle_cpu_pct"] = "low"
    doc["extra"] = 1
    assert stats.check_document(doc) == ["missing open_timers", "unexpected extra", "idle_cpu_pct is not a number"]


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"HTTP/1.1 202 Accepted\r\ncontent-length: 12\r\ncontent-type: application/json\r\n\r\n", (202, 12, False)),
        (b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", (200, 0, True)),
    ],
)
def test_response_heads_are_read_for_status_length_and_close(head: bytes, expected: tuple[int, int, bool]) -> None:
    assert _parse_head(head) == expected


def test_chunked_responses_are_refused_not_misread() -> None:
    with pytest.raises(ValueError, match="chunked"):
        _parse_head(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
