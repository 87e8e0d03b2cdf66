"""The agents ingest knows by name, learnt from the router's `agent.updated` events."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.ingest.adapters.tables import agents


class AgentDirectory:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def record(self, agent_id: str, name: str, team: str | None, updated_at: datetime) -> None:
        """Upsert, unless what is stored is newer (events of one agent may arrive late)."""
        values = {"name": name, "team": team, "updated_at": updated_at}
        stmt = pg_insert(agents).values(agent_id=agent_id, **values)
        await self._session.execute(
            stmt.on_conflict_do_update(
                index_elements=["agent_id"], set_=values, where=agents.c.updated_at <= stmt.excluded.updated_at
            )
        )

    async def name_of(self, agent_id: str) -> str | None:
        return await self._session.scalar(select(agents.c.name).where(agents.c.agent_id == agent_id))
