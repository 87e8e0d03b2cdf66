"""The dashboard's aggregation: queue health, agent load, online totals, per-queue fairness stats."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime, timedelta

import pytest

from services.router.domain.model import Agent, AgentLoad, AgentStatus, Queue
from services.router.domain.overview import (
    AgentLine,
    ChannelLoad,
    QueueHealth,
    WaitingSummary,
    agent_line,
    fairness_window_start,
    free_capacity,
    health,
    overview,
    queue_stats,
)

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def ago(seconds: float) -> datetime:
    return NOW - timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("summary", "expected"),
    [
        (WaitingSummary(), QueueHealth(waiting=0, oldest_wait_seconds=0.0)),
        (WaitingSummary(count=3, oldest_since=ago(90.5)), QueueHealth(waiting=3, oldest_wait_seconds=90.5)),
        (WaitingSummary(count=1, oldest_since=NOW), QueueHealth(waiting=1, oldest_wait_seconds=0.0)),
    ],
)
def test_queue_health_is_the_count_and_the_longest_wait(summary: WaitingSummary, expected: QueueHealth) -> None:
    assert health(summary, NOW) == expected


def agent(agent_id: str, status: AgentStatus, capacity: int) -> Agent:
    return Agent(id=agent_id, name=agent_id.title(), team="t1", status=status, total_capacity=capacity)


def test_the_overview_lists_every_queue_and_agent_and_totals_the_online_ones() -> None:
    agents = [agent("ada", "online", 8), agent("bob", "away", 4), agent("cy", "online", 2)]
    loads = {"ada": AgentLoad(total=3), "bob": AgentLoad(total=1), "cy": AgentLoad(total=2)}
    waiting = {"billing": WaitingSummary(count=2, oldest_since=ago(30)), "unconfigured": WaitingSummary(1, ago(5))}

    result = overview(["billing", "triage"], waiting, agents, loads, NOW)

    assert result.queues == {
        "billing": QueueHealth(waiting=2, oldest_wait_seconds=30.0),
        "triage": QueueHealth(waiting=0, oldest_wait_seconds=0.0),
        "unconfigured": QueueHealth(waiting=1, oldest_wait_seconds=5.0),
    }
    assert list(result.queues) == ["billing", "triage", "unconfigured"], "configured queues first, in their order"
    assert result.agents == [
        AgentLine(id="ada", name="Ada", team="t1", status="online", load=3, capacity=8, channels={}, full_channels=[]),
        AgentLine(id="bob", name="Bob", team="t1", status="away", load=1, capacity=4, channels={}, full_channels=[]),
        AgentLine(id="cy", name="Cy", team="t1", status="online", load=2, capacity=2, channels={}, full_channels=[]),
    ]
    assert (result.online_agents, result.online_load, result.online_capacity) == (2, 5, 10)


def test_the_overview_serialises_to_the_dashboards_json() -> None:
    result = overview(["triage"], {}, [agent("ada", "offline", 8)], {"ada": AgentLoad()}, NOW)
    assert asdict(result) == {
        "queues": {"triage": {"waiting": 0, "oldest_wait_seconds": 0.0}},
        "agents": [
            {
                "id": "ada",
                "name": "Ada",
                "team": "t1",
                "status": "offline",
                "load": 0,
                "capacity": 8,
                "channels": {},
                "full_channels": [],
            }
        ],
        "online_agents": 0,
        "online_load": 0,
        "online_capacity": 0,
    }


def test_an_empty_overview() -> None:
    result = overview([], {}, [], {}, NOW)
    assert asdict(result) == {"queues": {}, "agents": [], "online_agents": 0, "online_load": 0, "online_capacity": 0}


@pytest.mark.parametrize(
    ("counts", "skew"),
    [({}, 0.0), ({"ada": 3, "bob": 3}, 0.0), ({"ada": 10, "bob": 0}, 1.0)],
)
def test_queue_stats_add_the_fairness_window_and_skew(counts: dict[str, int], skew: float) -> None:
    queue = Queue(name="billing", fairness_window_s=600)
    stats = queue_stats(queue, WaitingSummary(count=4, oldest_since=ago(12)), counts, NOW)
    assert asdict(stats) == {
        "queue": "billing",
        "waiting": 4,
        "oldest_wait_seconds": 12.0,
        "window_seconds": 600,
        "assignments_by_agent": counts,
        "distribution_skew": skew,
    }


@pytest.mark.parametrize(("window_s", "start"), [(3600, ago(3600)), (60, ago(60))])
def test_the_fairness_window_ends_now(window_s: int, start: datetime) -> None:
    assert fairness_window_start(Queue(name="q", fairness_window_s=window_s), NOW) == start


def test_an_agent_full_on_one_channel_shows_it_though_their_total_has_room() -> None:
    """6 email slots full while 82 emails wait: load 6 / capacity 8 alone hides it."""
    ada = Agent(id="ada", name="Ada", status="online", capacity={"email": 6, "chat": 2}, total_capacity=8)
    line = agent_line(ada, AgentLoad(by_channel={"email": 6}, total=6))
    assert line.channels == {
        "chat": ChannelLoad(load=0, capacity=2, full=False),
        "email": ChannelLoad(load=6, capacity=6, full=True),
    }
    assert line.full_channels == ["email"]
    full_total = agent_line(ada, AgentLoad(by_channel={"email": 4, "chat": 2}, total=8))
    assert full_total.full_channels == ["chat", "email"], "total full: nothing more on any channel"


def test_free_capacity_per_channel_counts_online_agents_bounded_by_their_total() -> None:
    agents = [
        Agent(id="ada", name="Ada", status="online", capacity={"email": 6, "chat": 2}, total_capacity=8),
        Agent(id="bob", name="Bob", status="online", capacity={"email": 6}, total_capacity=7),
        Agent(id="cy", name="Cy", status="away", capacity={"email": 6}, total_capacity=8),
    ]
    loads = {"ada": AgentLoad(by_channel={"email": 6}, total=6), "bob": AgentLoad(by_channel={"email": 5}, total=6)}
    assert free_capacity(agents, loads) == {"chat": 2, "email": 1}
