"""Each KPI from event sequences, through the same projection the service stores."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.insights.domain import kpis
from services.insights.domain.model import TicketFacts
from services.insights.domain.projection import project_agent, project_ticket
from services.insights.domain.summary import summary
from services.insights.domain.windows import Window, align, percentile_cont, windows
from tests.unit.insights import (
    agent_status,
    agent_updated,
    assigned,
    at,
    escalation_level,
    escalation_opened,
    rated,
    received,
    reopen,
    reply,
    sla_applied,
    sla_breached,
    sla_met,
    sla_stopped,
    solve,
    unassigned,
)

WHOLE = [Window(at(0), at(24 * 20))]


def facts(ticket: str, *events) -> TicketFacts:
    return project_ticket(ticket, list(events)).facts


def test_windows_cut_at_utc_boundaries_and_clip_to_the_range() -> None:
    cut = windows(at(1.5), at(50), "day")
    assert [w.bucket for w in cut] == [align(at(0), "day"), align(at(24), "day"), align(at(48), "day")]
    assert (cut[0].start, cut[-1].end) == (at(1.5), at(50))
    assert align(at(24 * 3), "week") == at(-8)  # T0 is Monday 08:00
    assert windows(at(0), at(1), None) == [Window(at(0), at(1))]


@pytest.mark.parametrize(
    ("values", "median", "p90"),
    [([], None, None), ([5], 5, 5), ([1, 2, 3, 4], 2.5, 3.7), ([10, 0, 20, 30, 40, 50, 60, 70, 80, 90], 45, 81)],
)
def test_percentiles_interpolate_like_postgresql(values: list[float], median: float | None, p90: float | None) -> None:
    assert (
        percentile_cont(values, 0.5) == pytest.approx(median)
        if median is not None
        else percentile_cont(values, 0.5) is None
    )
    assert (
        percentile_cont(values, 0.9) == pytest.approx(p90) if p90 is not None else percentile_cont(values, 0.9) is None
    )


def test_volume_counts_created_solved_reopened_and_the_backlog_at_each_buckets_end() -> None:
    tickets = [
        facts("t1", received(1, "t1"), solve(5, "t1"), reopen(26, "t1"), solve(30, "t1")),
        facts("t2", received(2, "t2", channel="chat"), solve(3, "t2")),
        facts("t3", received(25, "t3")),
    ]
    rows = kpis.volume(tickets, windows(at(-8), at(40), "day"), None)  # two whole UTC days
    assert [(r["created"], r["solved"], r["reopened"], r["backlog"]) for r in rows] == [(2, 2, 0, 0), (1, 1, 1, 1)]
    by_channel = kpis.volume(tickets, WHOLE, "channel")
    assert [(r["group"], r["created"], r["solved"]) for r in by_channel] == [("chat", 1, 1), ("email", 2, 2)]


def test_first_reply_and_resolution_times_in_business_and_calendar_time() -> None:
    tickets = [
        facts("t1", received(0, "t1"), reply(1, "t1"), sla_met(1, 0.5, ticket="t1"), solve(4, "t1"),
              sla_met(4, 2, "resolution", "t1")),
        facts("t2", received(0, "t2"), reply(3, "t2"), sla_breached(1, ticket="t2"), sla_stopped(3, 1.5, ticket="t2"),
              solve(10, "t2")),
        facts("t3", received(0, "t3"), reply(0.5, "t3", author="customer")),  # no agent reply: not counted
    ]  # fmt: skip
    (first,) = kpis.first_reply(tickets, WHOLE, None)
    assert first["tickets"] == 2
    assert (first["median_calendar_s"], first["median_business_s"]) == (2 * 3600, 3600)
    assert first["p90_calendar_s"] == pytest.approx(3600 + 0.9 * 7200)
    (resolved,) = kpis.resolution(tickets, WHOLE, None)
    assert (resolved["tickets"], resolved["median_calendar_s"], resolved["median_business_s"]) == (2, 7 * 3600, 7200)


def test_a_reopened_ticket_leaves_the_resolution_figures_until_solved_again() -> None:
    reopened = facts("t1", received(0), solve(2), reopen(3))
    assert kpis.resolution([reopened], WHOLE, None)[0]["tickets"] == 0
    (row,) = kpis.reopens([reopened], WHOLE, None)
    assert (row["solved"], row["reopened"], row["reopen_rate_percent"]) == (1, 1, 100.0)


def test_sla_adherence_counts_clocks_decided_in_the_range_by_group() -> None:
    met = project_ticket(
        "t1", [received(0, "t1", priority="high"), sla_applied(0, 1, "t1"), sla_met(0.5, 0.5, ticket="t1")]
    )
    breached = project_ticket("t2", [received(0, "t2"), sla_applied(0, 1, "t2"), sla_breached(1, ticket="t2")])
    pairs = [(p.facts, c) for p in (met, breached) for c in p.clocks]
    (row,) = kpis.sla(pairs, WHOLE, None)
    assert (row["met"], row["breached"], row["adherence_percent"]) == (1, 1, 50.0)
    assert [(r["group"], r["adherence_percent"]) for r in kpis.sla(pairs, WHOLE, "priority")] == [
        ("high", 100.0),
        ("normal", 0.0),
    ]
    assert kpis.sla(pairs, [Window(at(2), at(3))], None)[0]["adherence_percent"] is None


def test_escalation_rate_is_escalated_tickets_over_created_and_open_ones_count_by_level() -> None:
    one = project_ticket("t1", [received(0, "t1"), escalation_opened(1, "t1"), escalation_level(2, 2, "t1")])
    two = project_ticket("t2", [received(0, "t2")])
    opened = {"t1": list(one.escalations)}
    (row,) = kpis.escalations([one.facts, two.facts], opened, WHOLE, None)
    assert (row["created"], row["escalated"], row["escalation_rate_percent"], row["opened"]) == (2, 1, 50.0, 1)
    assert kpis.open_escalations_by_level(one.escalations) == {"2": 1}


def test_first_contact_resolution_needs_one_reply_and_no_reopen_within_seven_days() -> None:
    week = 24 * 7
    one_reply = facts("t1", received(0, "t1"), reply(1, "t1"), solve(2, "t1"))
    two_replies = facts("t2", received(0, "t2"), reply(1, "t2"), reply(1.5, "t2"), solve(2, "t2"))
    reopened_soon = facts("t3", received(0, "t3"), reply(1, "t3"), solve(2, "t3"), reopen(2 + week - 1, "t3"))
    reopened_late = facts("t4", received(0, "t4"), reply(1, "t4"), solve(2, "t4"), reopen(2 + week + 1, "t4"))
    recent = facts("t5", received(0, "t5"), reply(1, "t5"), solve(2 + week, "t5"))
    tickets = [one_reply, two_replies, reopened_soon, reopened_late, recent]
    as_of = at(2 + week + 24)
    outcomes = [kpis.fcr_outcome(t, as_of) for t in tickets]
    assert outcomes == ["fcr", "not_fcr", "not_fcr", "fcr", "pending"]
    (row,) = kpis.fcr(tickets, WHOLE, None, as_of)
    assert (row["solved"], row["pending"], row["fcr"], row["fcr_percent"]) == (5, 1, 2, 50.0)
    # a week later the recent one is no longer pending
    assert kpis.fcr_outcome(recent, as_of + timedelta(days=7)) == "fcr"


def test_csat_is_good_over_rated_and_the_response_rate_rated_over_solved() -> None:
    tickets = [
        facts("t1", received(0, "t1"), solve(1, "t1"), rated(2, "good", "t1")),
        facts(
            "t2", received(0, "t2"), solve(1, "t2"), rated(2, "good", "t2"), rated(3, "bad", "t2")
        ),  # the latest counts
        facts("t3", received(0, "t3"), solve(1, "t3")),
        facts("t4", received(0, "t4"), rated(1, "good", "t4")),  # not solved: outside the base
    ]
    (row,) = kpis.csat(tickets, WHOLE, None)
    assert (row["solved"], row["good"], row["bad"], row["csat_percent"]) == (3, 1, 1, 50.0)
    assert row["response_rate_percent"] == pytest.approx(66.67)


def test_occupancy_is_the_share_of_online_time_at_full_capacity() -> None:
    agent = project_agent(
        "a1", [agent_updated(0, total=2), agent_status(1, "offline", "online"), agent_status(11, "online", "offline")]
    )
    held = [
        *project_ticket("t1", [received(0, "t1"), assigned(2, ticket="t1"), unassigned(8, ticket="t1")]).assignments,
        *project_ticket("t2", [received(0, "t2"), assigned(4, ticket="t2"), unassigned(6, ticket="t2")]).assignments,
    ]
    (row,) = kpis.occupancy([agent], {"a1": held}, {"a1": 1}, [Window(at(0), at(12))], "agent")
    assert (row["group"], row["online_s"], row["at_capacity_s"]) == ("a1", 10 * 3600, 2 * 3600)
    assert (row["occupancy_percent"], row["assignments"], row["load"], row["capacity"]) == (20.0, 2, 1, 2)
    unknown = project_agent("a2", [agent_status(1, "offline", "online")])
    (row,) = kpis.occupancy([unknown], {}, {}, [Window(at(0), at(12))], None)
    assert (row["online_s"], row["occupancy_percent"], row["capacity"]) == (11 * 3600, None, None)


def test_the_summary_gathers_every_kpi_over_the_range() -> None:
    one = project_ticket("t1", [received(0, "t1"), reply(1, "t1"), solve(2, "t1"), rated(3, "good", "t1"),
                                sla_applied(0, 4, "t1"), sla_met(1, 1, ticket="t1"), escalation_opened(1, "t1")])  # fmt: skip
    two = project_ticket("t2", [received(1, "t2")])
    got = summary(
        [one.facts, two.facts], [(one.facts, c) for c in one.clocks], {"t1": list(one.escalations)},
        list(one.escalations), at(0), at(24), at(24 * 30),
    )  # fmt: skip
    assert (got["created"], got["solved"], got["reopened"], got["backlog"]) == (2, 1, 0, 1)
    assert got["first_reply"]["median_calendar_s"] == 3600 and got["first_reply"]["median_business_s"] == 3600
    assert (got["sla_adherence_percent"], got["escalation_rate_percent"], got["fcr_percent"]) == (100.0, 50.0, 100.0)
    assert (got["csat_percent"], got["csat_response_rate_percent"], got["reopen_rate_percent"]) == (100.0, 100.0, 0.0)
    assert got["open_escalations_by_level"] == {"0": 1}
