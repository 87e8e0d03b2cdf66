"""Report summaries over evaluated tickets: counts, adherence and percentile_cont like PostgreSQL's."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from services.sla.domain.model import MetricClock, SlaFacts, TicketSla
from services.sla.domain.report import GroupReport, MetricCounts, percentile_cont, summarise
from tests.unit.sla import T0, at


def clock(metric: Any, state: Any, elapsed: int = 0, *, stopped: bool = True, cycle: int = 0) -> MetricClock:
    return MetricClock(
        metric=metric,
        cycle=cycle,
        target_s=3600,
        business_hours=True,
        started_at=T0,
        due_at=at(60),
        warn_at=None,
        state=state,
        stopped_at=T0 + timedelta(seconds=elapsed) if stopped else None,
        business_elapsed_s=elapsed,
        calendar_elapsed_s=elapsed,
        remaining_s=3600 - elapsed,
    )


def ticket(n: int, *clocks: MetricClock, **facts: Any) -> TicketSla:
    return TicketSla(
        ticket_id=f"t-{n}",
        policy_id="p",
        config_version=1,
        facts=SlaFacts(ticket_id=f"t-{n}", channel=facts.pop("channel", "email"), received_at=T0, **facts),
        clocks=clocks,
        as_of=at(600),
    )


@pytest.mark.parametrize(
    ("values", "fraction", "expected"),
    [
        ([], 0.5, None),
        ([7], 0.9, 7.0),
        ([10, 20], 0.5, 15.0),
        ([40, 10, 30, 20], 0.5, 25.0),  # between ranks 2 and 3: 20 + 0.5 * 10
        ([10, 20, 30, 40], 0.9, 37.0),  # position 2.7: 30 + 0.7 * 10
        ([100, 200, 300, 400, 500], 0.9, 460.0),  # position 3.6
    ],
)
def test_percentile_cont_interpolates_linearly(values: list[float], fraction: float, expected: float | None) -> None:
    assert percentile_cont(values, fraction) == (None if expected is None else pytest.approx(expected))


def test_summarise_by_priority_with_known_numbers() -> None:
    slas = [
        ticket(1, clock("first_reply", "met", 600), clock("resolution", "met", 3000), priority="high"),
        ticket(2, clock("first_reply", "met", 1200), clock("resolution", "breached", 9000), priority="high"),
        ticket(
            3,
            clock("first_reply", "breached", 4000),
            clock("next_reply", "met", 300, cycle=1),
            clock("next_reply", "breached", stopped=False, cycle=2),
            clock("resolution", "running", 5000, stopped=False),
            priority="high",
        ),
        ticket(4, clock("first_reply", "met", 1800), priority="high"),
        ticket(5, clock("first_reply", "running", 100, stopped=False), priority="low"),
    ]
    high, low = summarise(slas, "priority")
    # float8 arithmetic, as in PostgreSQL: 1800 + (4000 - 1800) * (0.9 * 3 - 2)
    assert high.first_reply_p90_s == pytest.approx(3340.0)
    assert high == GroupReport(
        group="high",
        tickets=4,
        achieved=5,
        breached=3,
        adherence_percent=62.5,
        by_metric={
            "first_reply": MetricCounts(achieved=3, breached=1),
            "next_reply": MetricCounts(achieved=1, breached=1),
            "resolution": MetricCounts(achieved=1, breached=1),
        },
        first_reply_median_s=1500.0,  # 600, 1200, 1800, 4000: halfway between 1200 and 1800
        first_reply_p90_s=high.first_reply_p90_s,
        resolution_median_s=6000.0,  # 3000 and 9000 (the running 5000 does not count)
        resolution_p90_s=8400.0,
    )
    assert low == GroupReport(
        group="low",
        tickets=1,
        achieved=0,
        breached=0,
        adherence_percent=None,
        by_metric={},
        first_reply_median_s=None,
        first_reply_p90_s=None,
        resolution_median_s=None,
        resolution_p90_s=None,
    )


def test_groups_are_sorted_by_name_with_no_value_last() -> None:
    slas = [ticket(1, tier="pro"), ticket(2), ticket(3, tier="enterprise"), ticket(4, tier="pro")]
    assert [(g.group, g.tickets) for g in summarise(slas, "tier")] == [("enterprise", 1), ("pro", 2), (None, 1)]
    assert [(g.group, g.tickets) for g in summarise(slas, "channel")] == [("email", 4)]
    assert [(g.group, g.tickets) for g in summarise(iter(slas), None)] == [(None, 4)]


def test_no_tickets_make_one_empty_overall_group_and_no_grouped_rows() -> None:
    assert [(g.group, g.tickets, g.adherence_percent) for g in summarise([], None)] == [(None, 0, None)]
    assert summarise([], "queue") == []


def test_adherence_rounds_halves_up_like_postgres() -> None:
    # 1 of 16 met: 6.25 % -> 6.3 (round(numeric) rounds half away from zero); 2 of 3: 66.7
    one_in_16 = [
        ticket(1, clock("first_reply", "met")),
        *(ticket(i, clock("first_reply", "breached")) for i in range(2, 17)),
    ]
    assert summarise(one_in_16, None)[0].adherence_percent == 6.3
    two_of_3 = [
        ticket(1, clock("first_reply", "met")),
        ticket(2, clock("first_reply", "met")),
        ticket(3, clock("first_reply", "breached")),
    ]
    assert summarise(two_of_3, None)[0].adherence_percent == 66.7
