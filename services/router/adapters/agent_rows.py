"""The pool's rows, decoded once: the same agents are read again and again.

Every transaction that dispatches reads every online agent with room (`repository._WITH_ROOM`). With
200 agents that is 200 rows of four JSON documents each (skills, languages, capacity, the load per
channel), and decoding them was most of what the read cost the router (a profile at 10 tickets/s:
80,000 agent rows and 340,000 JSON decodes in a few minutes). A profile changes rarely and a load
takes few values, so the read returns the JSON as text and this keeps what each text decoded to: a
row whose values are the ones seen last gets the `Agent` built then, and only a changed row, or a
load not seen before, is decoded again.

The kept values are shared by every transaction of the process, so nothing may change them in place:
the domain never does (a pass replaces an agent or a load, see `dispatch_pass.took` and `released`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from services.router.domain.model import Agent, AgentLoad

# the pool's columns, the JSON ones as text (what `AgentRows.entry` reads)
POOL_COLUMNS = """
    a.id, a.name, a.team, a.skills::text as skills, a.languages::text as languages,
    a.capacity::text as capacity, a.total_capacity, a.status, a.status_changed_at, a.last_assigned_at,
    a.total_load,
    (select jsonb_object_agg(l.channel, l.load) from router.agent_loads l where l.agent_id = a.id)::text
        as by_channel
"""

_PROFILE = (
    "name",
    "team",
    "skills",
    "languages",
    "capacity",
    "total_capacity",
    "status",
    "status_changed_at",
    "last_assigned_at",
)
# more than this many kept and the cache starts again (agents deleted, loads of a huge floor)
_LIMIT = 20_000


def agent_from_row(row: Any) -> Agent:
    """An agents row, its JSON columns decoded, as the domain's Agent (every read of agents builds them here)."""
    return Agent(
        id=row["id"],
        name=row["name"],
        team=row["team"],
        skills=dict(row["skills"]),
        languages=tuple(row["languages"]),
        capacity=dict(row["capacity"]),
        total_capacity=row["total_capacity"],
        status=row["status"],
        status_changed_at=row["status_changed_at"],
        last_assigned_at=row["last_assigned_at"],
    )


class AgentRows:
    def __init__(self) -> None:
        self._agents: dict[str, tuple[tuple[Any, ...], Agent]] = {}
        self._loads: dict[str, Mapping[str, int]] = {}

    def entry(self, row: Any) -> tuple[Agent, AgentLoad]:
        """The agent and load of a row with the `POOL_COLUMNS` (a mapping by column name)."""
        return self.agent(row), AgentLoad(by_channel=self._load(row["by_channel"]), total=row["total_load"])

    def agent(self, row: Any) -> Agent:
        """The agent of such a row: the one built before if its profile's values are the same."""
        values = tuple(row[name] for name in _PROFILE)
        kept = self._agents.get(row["id"])
        if kept is not None and kept[0] == values:
            return kept[1]
        decoded = {name: json.loads(row[name]) for name in ("skills", "languages", "capacity")}
        agent = agent_from_row({**row, **decoded})
        if len(self._agents) >= _LIMIT:
            self._agents.clear()
        self._agents[row["id"]] = (values, agent)
        return agent

    def _load(self, text: str | None) -> Mapping[str, int]:
        if text is None:
            return {}
        load = self._loads.get(text)
        if load is None:
            if len(self._loads) >= _LIMIT:
                self._loads.clear()
            load = self._loads[text] = json.loads(text)
        return load
