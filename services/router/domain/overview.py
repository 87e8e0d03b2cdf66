"""Queue health and agent load, aggregated for the managers' dashboard. Pure: `now` is a parameter."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.router.domain.assignment import distribution_skew
from services.router.domain.model import Agent, AgentLoad, Queue


@dataclass(frozen=True)
class WaitingSummary:
    """How many tickets wait in a queue, and since when the longest-waiting one has."""

    count: int = 0
    oldest_since: datetime | None = None


@dataclass(frozen=True)
class QueueHealth:
    waiting: int
    oldest_wait_seconds: float


@dataclass(frozen=True)
class ChannelLoad:
    load: int
    capacity: int
    full: bool


@dataclass(frozen=True)
class AgentLine:
    id: str
    name: str
    team: str | None
    status: str
    load: int
    capacity: int
    channels: dict[str, ChannelLoad]  # per channel: an agent can be full on email with room in total
    full_channels: list[str]  # channels on which they can take nothing more (channel or total full)


@dataclass(frozen=True)
class Overview:
    queues: dict[str, QueueHealth]
    agents: list[AgentLine]
    online_agents: int
    online_load: int
    online_capacity: int


@dataclass(frozen=True)
class QueueStats:
    queue: str
    waiting: int
    oldest_wait_seconds: float
    window_seconds: int
    assignments_by_agent: dict[str, int]
    distribution_skew: float


def health(waiting: WaitingSummary, now: datetime) -> QueueHealth:
    oldest = (now - waiting.oldest_since).total_seconds() if waiting.oldest_since is not None else 0.0
    return QueueHealth(waiting=waiting.count, oldest_wait_seconds=oldest)


def overview(
    queue_names: Iterable[str],
    waiting: Mapping[str, WaitingSummary],
    agents: Iterable[Agent],
    loads: Mapping[str, AgentLoad],
    now: datetime,
) -> Overview:
    """Every configured queue (and any other one tickets wait in), every agent; totals over the online ones."""
    queues = {name: QueueHealth(waiting=0, oldest_wait_seconds=0.0) for name in queue_names}
    for name, summary in waiting.items():
        queues[name] = health(summary, now)
    lines = [agent_line(a, loads.get(a.id, AgentLoad())) for a in agents]
    online = [line for line in lines if line.status == "online"]
    return Overview(
        queues=queues,
        agents=lines,
        online_agents=len(online),
        online_load=sum(line.load for line in online),
        online_capacity=sum(line.capacity for line in online),
    )


def agent_line(agent: Agent, load: AgentLoad) -> AgentLine:
    channels = {
        channel: ChannelLoad(
            load=load.by_channel.get(channel, 0),
            capacity=capacity,
            full=load.by_channel.get(channel, 0) >= capacity or load.total >= agent.total_capacity,
        )
        for channel, capacity in sorted(agent.capacity.items())
    }
    return AgentLine(
        id=agent.id,
        name=agent.name,
        team=agent.team,
        status=agent.status,
        load=load.total,
        capacity=agent.total_capacity,
        channels=channels,
        full_channels=[c for c, line in channels.items() if line.full],
    )


def free_capacity(agents: Iterable[Agent], loads: Mapping[str, AgentLoad]) -> dict[str, int]:
    """Per channel, how many more tickets the online agents could take now (each agent's channel room,
    bounded by their room in total)."""
    free: dict[str, int] = {}
    for agent in agents:
        load = loads.get(agent.id, AgentLoad())
        total_room = max(0, agent.total_capacity - load.total) if agent.status == "online" else 0
        for channel, capacity in agent.capacity.items():
            room = min(total_room, max(0, capacity - load.by_channel.get(channel, 0)))
            free[channel] = free.get(channel, 0) + room
    return dict(sorted(free.items()))


def fairness_window_start(queue: Queue, now: datetime) -> datetime:
    return now - timedelta(seconds=queue.fairness_window_s)


def queue_stats(
    queue: Queue, waiting: WaitingSummary, assignments_by_agent: Mapping[str, int], now: datetime
) -> QueueStats:
    """Health plus fairness: who got how much of the queue's work in its window, and how unevenly."""
    current = health(waiting, now)
    return QueueStats(
        queue=queue.name,
        waiting=current.waiting,
        oldest_wait_seconds=current.oldest_wait_seconds,
        window_seconds=queue.fairness_window_s,
        assignments_by_agent=dict(assignments_by_agent),
        distribution_skew=distribution_skew(assignments_by_agent),
    )
