"""Routes for SLA reports: adherence and reply/resolution times per group, live (in SQL over the
outcomes) and what-if (the same tickets replayed with a draft configuration, changing nothing)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import AwareDatetime

from services.sla.adapters.reports import GroupBy, sla_report
from services.sla.entrypoints.deps import config_problems, now, read_access, settings_of
from services.sla.entrypoints.schemas import WhatIfIn
from services.sla.handlers.reports import TooManyTickets, draft_config, what_if
from shared.auth import Principal
from shared.auth.web import require
from shared.messaging.uow import UnitOfWork
from shared.web.app import get_uow
from shared.web.problems import Problem
from shared.web.query import reject_unknown_query

router = APIRouter(prefix="/v1", tags=["reports"], dependencies=[reject_unknown_query()])
DEFAULT_RANGE = timedelta(days=30)


def _range(start: datetime | None, end: datetime | None, current: datetime) -> tuple[datetime, datetime]:
    end = end or current
    try:
        start = start or end - DEFAULT_RANGE
    except OverflowError:
        raise _invalid("from", "is needed: 30 days before `to` is out of range") from None
    if start > end:
        raise _invalid("from", "must not be after `to`")
    return start, end


def _invalid(field: str, message: str) -> Problem:
    return Problem(422, f"{field}: {message}", title="Invalid request", errors=[{"field": field, "message": message}])


@router.get("/reports/sla")
async def report(
    request: Request,
    start: AwareDatetime | None = Query(
        None, alias="from", description="received at or after; default: `to` - 30 days"
    ),
    end: AwareDatetime | None = Query(None, alias="to", description="received before; default: now"),
    group_by: GroupBy = Query("priority"),
    uow: UnitOfWork = Depends(get_uow),
    _: Principal = Depends(read_access),
) -> dict[str, Any]:
    """Tickets received in [from, to) per group: clocks achieved and breached, adherence, and the median
    and 90th percentile of first reply and resolution times (business seconds of stopped clocks)."""
    start, end = _range(start, end, now(request))
    groups = await sla_report(uow.session, start, end, group_by)
    return {"from": start, "to": end, "group_by": group_by, "groups": groups}


@router.post("/reports/sla:what-if")
async def report_what_if(
    body: WhatIfIn, request: Request, uow: UnitOfWork = Depends(get_uow), _: Principal = Depends(require("manager"))
) -> dict[str, Any]:
    """The same tickets measured by a draft configuration (policies and/or calendars replaced), beside the
    live numbers. Validated like a save; nothing is stored."""
    start, end = _range(body.from_, body.to, now(request))
    policies = [p.to_domain(p.id) for p in body.policies] if body.policies is not None else None
    calendars = [c.to_domain(c.id) for c in body.calendars] if body.calendars is not None else None
    default_id = body.default_policy_id
    if default_id is None and body.policies is not None:
        default_id = next((p.id for p in body.policies if p.default), None)
    with config_problems(draft=True):
        draft = await draft_config(
            uow,
            policies=policies,
            default_id=default_id,
            default_given=default_id is not None or body.policies is not None,
            calendars=calendars,
        )
    try:
        replayed = await what_if(
            uow, draft, start, end, body.group_by, now(request), settings_of(request).what_if_max_tickets
        )
    except TooManyTickets as exc:
        raise _invalid("from", f"{exc} (e.g. a later `from`)") from None
    current = await sla_report(uow.session, start, end, body.group_by)
    return {"from": start, "to": end, "group_by": body.group_by, "current": current, "what_if": replayed}
