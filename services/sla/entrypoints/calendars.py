"""Routes for business-hours calendars: list, read, create or replace, delete (refused while in use)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request

from services.sla.adapters.repository import SlaRepository
from services.sla.entrypoints.deps import admin_only, config_problems, now, read_access
from services.sla.entrypoints.schemas import NAME_PATTERN, CalendarIn, calendar_out
from services.sla.handlers import config
from shared.auth import Principal
from shared.messaging.uow import UnitOfWork
from shared.web.app import get_uow
from shared.web.problems import Problem
from shared.web.query import reject_unknown_query

router = APIRouter(prefix="/v1", tags=["calendars"], dependencies=[reject_unknown_query()])
CalendarId = Annotated[str, Path(min_length=1, max_length=100, pattern=NAME_PATTERN)]


@router.get("/calendars")
async def list_calendars(uow: UnitOfWork = Depends(get_uow), _: Principal = Depends(read_access)) -> dict[str, Any]:
    repo = SlaRepository(uow.session)
    version = await repo.latest_version()
    return {
        "config_version": version,
        "calendars": [calendar_out(c, version) for c in (await repo.calendars()).values()],
    }


@router.get("/calendars/{calendar_id}")
async def get_calendar(
    calendar_id: CalendarId, uow: UnitOfWork = Depends(get_uow), _: Principal = Depends(read_access)
) -> dict[str, Any]:
    repo = SlaRepository(uow.session)
    calendar = (await repo.calendars()).get(calendar_id)
    if calendar is None:
        raise Problem(404, f"no calendar {calendar_id!r}")
    return calendar_out(calendar, await repo.latest_version())


@router.put("/calendars/{calendar_id}", tags=["admin"])
async def put_calendar(
    calendar_id: CalendarId,
    body: CalendarIn,
    request: Request,
    uow: UnitOfWork = Depends(get_uow),
    _: Principal = Depends(admin_only),
) -> dict[str, Any]:
    """Create or replace a calendar; validated with every policy, and kept in a new configuration version."""
    calendar = body.to_domain(calendar_id)
    with config_problems(calendar_id=calendar_id):
        saved = await config.save_calendar(uow, calendar, now(request))
    await uow.commit()
    return calendar_out(calendar, saved.config.version)


@router.delete("/calendars/{calendar_id}", tags=["admin"])
async def delete_calendar(
    calendar_id: CalendarId, request: Request, uow: UnitOfWork = Depends(get_uow), _: Principal = Depends(admin_only)
) -> dict[str, Any]:
    """Delete a calendar no policy uses (409 names the policies that do)."""
    with config_problems():
        saved = await config.delete_calendar(uow, calendar_id, now(request))
    await uow.commit()
    return {"deleted": calendar_id, "config_version": saved.config.version}
