"""Why a ticket waits, at a cost that does not grow with the floor: agents counted in groups.

A waiting ticket's record (`decide.why_waiting`) names the closest agents and counts, per kind of
exclusion, every agent it left out. Reading every agent and load to build it cost over 100 ms per
waiting ticket on a 2,000-agent floor, and on a full floor every new ticket waits. Instead the
database sorts the agents into groups by the facts eligibility looks at for *this* ticket (status,
in the team, each required skill present and at level, speaks the language, channel full, total
full, fairness limit reached): a few rows whatever the floor's size, each with a count and its
first agent ids (`adapters/census.py`: `wait_census`).

Each group's kinds of exclusion come from `assignment.eligibility` itself, applied to a stand-in
agent built from the group's facts, so what excludes an agent is still decided in one place. Only
the agents the record names (the closest, the first online ones its reason lists, and those the
ticket itself rules out: who declined it, who transferred it away) are read in full and judged
exactly. When a group turns out eligible (someone got room meanwhile) or the queue has a workflow
(whose step depends on everyone online), the caller judges every agent as before.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from services.router.domain.assignment import (
    AssignmentDecision,
    Candidate,
    Requirements,
    eligibility,
    exclusion_kind,
    none_eligible_reason,
)
from services.router.domain.model import Agent, AgentLoad, AgentStatus, Queue, RoutedTicket

# a group's skill fact per required skill (in sorted skill order)
HAS_SKILL, NO_SKILL, BELOW_LEVEL = 0, 1, 2
_STAND_IN = "\x00census"  # never an agent id, so never among those who declined the ticket


@dataclass(frozen=True)
class CensusGroup:
    """Agents alike in everything eligibility checks for one ticket: how many, and the first few ids."""

    status: AgentStatus
    in_team: bool  # True when no team is required
    skills: tuple[int, ...]  # HAS_SKILL, NO_SKILL or BELOW_LEVEL per required skill, in sorted order
    speaks: bool  # True when no language is required
    channel_full: bool
    total_full: bool
    fairness_reached: bool
    count: int
    first_ids: tuple[str, ...]  # in id order


def stand_in(group: CensusGroup, req: Requirements, ticket: RoutedTicket, queue: Queue) -> tuple[Agent, AgentLoad]:
    """An agent and load with exactly the group's facts for this ticket (the numbers are made up)."""
    skills: dict[str, int] = {}
    for (skill, level), fact in zip(sorted(req.skills.items()), group.skills, strict=True):
        if fact == HAS_SKILL:
            skills[skill] = level
        elif fact == BELOW_LEVEL:
            skills[skill] = level - 1
    agent = Agent(
        id=_STAND_IN,
        name="",
        team=req.team if group.in_team else None,
        skills=skills,
        languages=(req.language,) if group.speaks and req.language is not None else (),
        capacity={ticket.channel: 1},
        total_capacity=1,
        status=group.status,
    )
    limit = queue.fairness_max_per_window or 0
    load = AgentLoad(
        by_channel={ticket.channel: int(group.channel_full)},
        total=int(group.total_full),
        recent_from_queue=limit if group.fairness_reached else 0,
    )
    return agent, load


def group_reasons(group: CensusGroup, req: Requirements, ticket: RoutedTicket, queue: Queue) -> tuple[str, ...]:
    """The reasons eligibility gives every agent of the group (their numbers aside)."""
    agent, load = stand_in(group, req, ticket, queue)
    return eligibility(agent, load, req, ticket, queue)


def closeness(reasons: Sequence[str], agent_id: str) -> tuple[bool, int, str]:
    """A wait record's order: agents who fit skills, team and language first, then fewest reasons, then id."""
    misfit = any(exclusion_kind(r).startswith(("skill ", "team ", "language ")) for r in reasons)
    return (misfit, len(reasons), agent_id)


def closest_ids(groups: Iterable[tuple[CensusGroup, tuple[str, ...]]], listed: int) -> list[str]:
    """The `listed` closest agents across groups (each group's first ids are its closest)."""
    keyed = [closeness(reasons, agent_id) for group, reasons in groups for agent_id in group.first_ids]
    return [key[2] for key in sorted(keyed)[:listed]]


def count_waiting(
    ticket: RoutedTicket,
    queue: Queue,
    req: Requirements,
    groups: Sequence[tuple[CensusGroup, tuple[str, ...]]],
    judged: Sequence[tuple[Agent, AgentLoad]],
    apart: frozenset[str],
) -> AssignmentDecision | None:
    """The decision that nobody can take the ticket, counted (`considered`, `excluded_counts`), or None
    when someone can (the caller then judges all).

    `groups`: each group with its `group_reasons`, none of them empty; `judged`: the agents read in
    full (the closest, the first online ones by id, and `apart`); `apart`: the ids the groups left
    out because the ticket itself rules them out."""
    reasons_of = {agent.id: eligibility(agent, load, req, ticket, queue) for agent, load in judged}
    if not all(reasons_of.values()):
        return None
    counts: Counter[str] = Counter()
    for group, reasons in groups:
        for reason in reasons:
            counts[exclusion_kind(reason)] += group.count
    for agent_id in apart & reasons_of.keys():
        counts.update(exclusion_kind(r) for r in reasons_of[agent_id])
    considered = sum(group.count for group, _ in groups) + len(apart & reasons_of.keys())
    online = sum(group.count for group, _ in groups if group.status == "online")
    online += sum(1 for agent, _ in judged if agent.id in apart and agent.status == "online")
    if considered == 0:
        reason = "no agents configured"
    elif online == 0:
        reason = "no agent is online"
    else:
        first_online = sorted(((a, reasons_of[a.id]) for a, _ in judged if a.status == "online"), key=lambda r: r[0].id)
        reason = none_eligible_reason(first_online, online)
    candidates = tuple(Candidate(a.id, reasons_of[a.id], None) for a, _ in judged)
    return AssignmentDecision(None, req, candidates, reason, considered=considered, excluded_counts=counts)
