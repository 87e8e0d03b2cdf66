"""The queries behind a waiting ticket's record (see domain/census.py): agents grouped by what
eligibility checks for one ticket, and the few agents the record names, read in full.

The grouping computes in SQL the same facts `assignment.eligibility` tests (team compared
case-insensitively, a skill present and at level, a language's primary subtag, the ticket's
channel and the total at capacity, the queue's fairness count), so that no agent row leaves the
database. tests/integration/test_wait_census.py holds it to the record built from every agent.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.router.adapters.agent_rows import agent_from_row
from services.router.domain.assignment import Requirements, primary_subtag
from services.router.domain.census import BELOW_LEVEL, HAS_SKILL, NO_SKILL, CensusGroup
from services.router.domain.model import Agent, AgentLoad, AgentStatus, Queue, RoutedTicket

# per agent and channel, and per agent the fairness count in the window (only for queues with a limit)
_RECENT = """
    left join (
        select agent_id, count(*) as recent from router.assignment_log
        where queue = :queue and assigned_at >= :since group by agent_id
    ) r on r.agent_id = a.id
"""

_CENSUS = f"""
with facts as (
    select
        a.id,
        a.status,
        (cast(:team as text) is null or coalesce(lower(a.team) = lower(:team), false)) as in_team,
        array(
            select case
                when not (a.skills ? s.name) then {NO_SKILL}
                when (a.skills ->> s.name)::numeric < s.level then {BELOW_LEVEL}
                else {HAS_SKILL} end
            from unnest(cast(:skill_names as text[]), cast(:skill_levels as int[])) with ordinality as s(name, level, n)
            order by s.n
        ) as skills,
        (cast(:language as text) is null or exists (
            select 1 from jsonb_array_elements_text(a.languages) as spoken(tag)
            where lower(split_part(replace(btrim(spoken.tag), '_', '-'), '-', 1)) = :language
        )) as speaks,
        coalesce(l.load, 0) >= coalesce((a.capacity ->> :channel)::int, 0) as channel_full,
        a.total_load >= a.total_capacity as total_full,
        {{fairness}} as fairness_reached
    from router.agents a
    left join router.agent_loads l on l.agent_id = a.id and l.channel = :channel
    {{recent}}
    where a.id <> all(cast(:apart as text[]))
)
select status, in_team, skills, speaks, channel_full, total_full, fairness_reached, count(*) as n,
       (array_agg(id order by id))[1:cast(:first as int)] as first_ids
from facts
group by status, in_team, skills, speaks, channel_full, total_full, fairness_reached
"""
_CENSUS_FAIR = text(_CENSUS.format(fairness="coalesce(r.recent, 0) >= cast(:limit as int)", recent=_RECENT))
_CENSUS_UNFAIR = text(_CENSUS.format(fairness="false", recent=""))

# the named agents in full; their fairness count in the queue (for a queue with a limit) from one
# grouped read of the window's log, not one scan of it per agent
_JUDGED = """
    select a.*, (select jsonb_object_agg(l.channel, l.load) from router.agent_loads l where l.agent_id = a.id)
           as by_channel,
           {recent} as recent
    from router.agents a
    {recent_join}
    where a.id = any(cast(:ids as text[]))
"""
_JUDGED_FAIR = text(
    _JUDGED.format(
        recent="coalesce(r.recent, 0)",
        recent_join="""left join (
        select agent_id, count(*) as recent from router.assignment_log
        where queue = :queue and assigned_at >= :since and agent_id = any(cast(:ids as text[]))
        group by agent_id
    ) r on r.agent_id = a.id""",
    )
)
_JUDGED_UNFAIR = text(_JUDGED.format(recent="0", recent_join=""))

_FIRST_ONLINE = text("select id from router.agents where status = 'online' order by id limit :limit")


async def wait_census(
    session: AsyncSession,
    req: Requirements,
    ticket: RoutedTicket,
    queue: Queue,
    since: datetime | None,
    *,
    apart: Collection[str],
    first: int,
) -> list[CensusGroup]:
    """Every agent but `apart`, grouped by the facts eligibility checks for this ticket."""
    skills = sorted(req.skills.items())
    params: dict[str, Any] = {
        "team": req.team,
        "skill_names": [name for name, _ in skills],
        "skill_levels": [level for _, level in skills],
        "language": primary_subtag(req.language) if req.language is not None else None,
        "channel": ticket.channel,
        "apart": sorted(apart),
        "first": first,
    }
    if queue.fairness_max_per_window is not None:
        statement = _CENSUS_FAIR
        params |= {"queue": queue.name, "since": since, "limit": queue.fairness_max_per_window}
    else:
        statement = _CENSUS_UNFAIR
    rows = (await session.execute(statement, params)).mappings()
    return [
        CensusGroup(
            status=cast(AgentStatus, row["status"]),
            in_team=row["in_team"],
            skills=tuple(row["skills"]),
            speaks=row["speaks"],
            channel_full=row["channel_full"],
            total_full=row["total_full"],
            fairness_reached=row["fairness_reached"],
            count=row["n"],
            first_ids=tuple(row["first_ids"]),
        )
        for row in rows
    ]


async def judged_agents(
    session: AsyncSession, ids: Collection[str], queue: str, since: datetime | None
) -> list[tuple[Agent, AgentLoad]]:
    """These agents in full, with their loads and their fairness count in `queue` since `since`
    (None: the queue has no fairness limit, and the count, which nothing would read, is 0)."""
    if since is None:
        rows = (await session.execute(_JUDGED_UNFAIR, {"ids": sorted(ids)})).mappings()
    else:
        rows = (await session.execute(_JUDGED_FAIR, {"ids": sorted(ids), "queue": queue, "since": since})).mappings()
    return [
        (
            agent_from_row(row),
            AgentLoad(
                by_channel=dict(row["by_channel"] or {}), total=row["total_load"], recent_from_queue=row["recent"]
            ),
        )
        for row in rows
    ]


async def first_online_ids(session: AsyncSession, limit: int) -> Sequence[str]:
    return list((await session.execute(_FIRST_ONLINE, {"limit": limit})).scalars())
