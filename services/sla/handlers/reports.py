"""What-if: the tickets received in a range, replayed through `evaluate` with a draft configuration.
Reads only; the caller never commits."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from services.sla.adapters.repository import SlaRepository
from services.sla.domain.clocks import evaluate
from services.sla.domain.model import Calendar, Policy, SlaConfig
from services.sla.domain.report import GroupBy, summarise
from services.sla.handlers.config import assemble, checked, current_config, default_of
from shared.messaging.uow import UnitOfWork


class TooManyTickets(Exception):
    pass


def as_json(group: Any) -> dict[str, Any]:
    """A GroupReport (pydantic model or dataclass) as JSON-ready data."""
    if hasattr(group, "model_dump"):
        dumped: dict[str, Any] = group.model_dump(mode="json")
        return dumped
    return dataclasses.asdict(group)


async def draft_config(
    uow: UnitOfWork,
    *,
    policies: list[Policy] | None,
    default_id: str | None,
    default_given: bool,
    calendars: list[Calendar] | None,
) -> SlaConfig:
    """The current configuration with the given parts replaced, validated like a save."""
    current_calendars, rows = await current_config(SlaRepository(uow.session))
    ordered = policies if policies is not None else [r.policy for r in rows]
    if not default_given:
        default_id = default_of(rows) if policies is None else None
    cal = {c.id: c for c in calendars} if calendars is not None else current_calendars
    return checked(assemble(cal, ordered, default_id))


async def what_if(
    uow: UnitOfWork, draft: SlaConfig, start: datetime, end: datetime, group_by: GroupBy, now: datetime, cap: int
) -> list[dict[str, Any]]:
    repo = SlaRepository(uow.session)
    ticket_ids = await repo.tickets_received_between(start, end, cap + 1)
    if len(ticket_ids) > cap:
        raise TooManyTickets(f"more than {cap} tickets were received in that range; narrow it")
    histories = await repo.histories(ticket_ids)
    slas = [sla for history in histories.values() if (sla := evaluate(history, draft, now)) is not None]
    return [as_json(group) for group in summarise(slas, group_by)]
