"""KPI routes: the summary of a range, and each KPI per group and time bucket (JSON or CSV)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic import AwareDatetime, BaseModel

from services.insights.domain.windows import Interval
from services.insights.entrypoints.deps import csv_response, invalid, managers, now, time_range
from services.insights.handlers.reports import GROUPS, KPIS, kpi_rows, summary_of
from shared.auth import Principal
from shared.messaging.uow import UnitOfWork
from shared.web.app import get_uow
from shared.web.problems import Problem
from shared.web.query import reject_unknown_query

router = APIRouter(prefix="/v1/kpis", tags=["kpis"], dependencies=[reject_unknown_query()])
GroupBy = Literal["channel", "brand", "queue", "priority", "tier", "agent"]

FROM = Query(None, alias="from", description="ISO-8601 with a zone, inclusive; default: `to` - 7 days")
TO = Query(None, alias="to", description="ISO-8601 with a zone, exclusive; default: now")


class Durations(BaseModel):
    median_business_s: float | None
    p90_business_s: float | None
    median_calendar_s: float | None
    p90_calendar_s: float | None


class Summary(BaseModel):
    model_config = {"populate_by_name": True}

    from_: datetime
    to: datetime
    created: int
    solved: int
    reopened: int
    backlog: int
    first_reply: Durations
    resolution: Durations
    sla_adherence_percent: float | None
    escalation_rate_percent: float | None
    open_escalations_by_level: dict[str, int]
    fcr_percent: float | None
    csat_percent: float | None
    csat_response_rate_percent: float | None
    reopen_rate_percent: float | None


class KpiAnswer(BaseModel):
    kpi: str
    from_: datetime
    to: datetime
    group_by: str | None
    interval: str | None
    rows: list[dict[str, Any]]


def _aliased(document: dict[str, Any]) -> dict[str, Any]:
    return {("from" if k == "from_" else k): v for k, v in document.items()}


@router.get("/summary", response_model=None, responses={200: {"model": Summary}})
async def kpi_summary(
    request: Request,
    start: AwareDatetime | None = FROM,
    end: AwareDatetime | None = TO,
    uow: UnitOfWork = Depends(get_uow),
    _: Principal = Depends(managers),
) -> dict[str, Any]:
    """Every KPI over [from, to): volume (created, solved, reopened, backlog at `to`), first reply and
    resolution times (median, p90; business and calendar), SLA adherence, escalation rate and open
    escalations by level (now), first-contact resolution, CSAT and its response rate, reopen rate."""
    start, end = time_range(request, start, end)
    return await summary_of(uow.session, start, end, now(request))


@router.get("/{kpi}", response_model=None, responses={200: {"model": KpiAnswer}})
async def kpi(
    request: Request,
    name: str = Path(alias="kpi", description=", ".join(KPIS)),
    start: AwareDatetime | None = FROM,
    end: AwareDatetime | None = TO,
    group_by: GroupBy | None = Query(None, description="what each KPI may be grouped by is in its description"),
    interval: Interval | None = Query(None, description="cut the range at UTC hour, day or ISO-week boundaries"),
    format: Literal["json", "csv"] = Query("json", description="csv: the same rows as text/csv"),
    uow: UnitOfWork = Depends(get_uow),
    _: Principal = Depends(managers),
) -> dict[str, Any] | Response:
    """One KPI per group and bucket: rows `{group, bucket, ...}` (`group` null without `group_by`,
    `bucket` null without `interval`). volume, first-reply, resolution, sla, escalations, fcr, csat,
    occupancy, reopens. `group_by`: channel, brand, queue, priority, tier for every ticket KPI; agent
    (the last agent who held the ticket) also for first-reply, resolution, fcr, csat, reopens;
    occupancy only by agent."""
    if name not in KPIS:
        raise Problem(
            404,
            f"kpi: no KPI {name!r}; one of {', '.join(KPIS)}",
            errors=[{"field": "kpi", "message": f"one of {', '.join(KPIS)}"}],
        )
    if group_by is not None and group_by not in GROUPS[name]:
        raise invalid("group_by", f"{name} can be grouped by {', '.join(GROUPS[name])}, not {group_by}")
    start, end = time_range(request, start, end, interval)
    rows = await kpi_rows(uow.session, name, start, end, interval, group_by, now(request))
    if format == "csv":
        return csv_response(rows, f"{name}-{start.date()}-{end.date()}")
    return {"kpi": name, "from": start, "to": end, "group_by": group_by, "interval": interval, "rows": rows}
