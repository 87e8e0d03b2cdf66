"""The summary of a range: each KPI over the whole range, one group, as `GET /v1/kpis/summary` says it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from services.insights.domain import kpis
from services.insights.domain.model import Clock, Escalation, TicketFacts
from services.insights.domain.windows import Window

DURATION_FIELDS = ("median_business_s", "p90_business_s", "median_calendar_s", "p90_calendar_s")


def summary(
    tickets: Sequence[TicketFacts],
    clocks: Sequence[tuple[TicketFacts, Clock]],
    escalations: Mapping[str, Sequence[Escalation]],
    open_escalations: Sequence[Escalation],
    start: datetime,
    end: datetime,
    as_of: datetime,
) -> dict[str, Any]:
    """Every KPI of [start, end) in one answer (see each function in `kpis` for its definition)."""
    whole = [Window(start, end)]
    (volume,) = kpis.volume(tickets, whole, None)
    (first,) = kpis.first_reply(tickets, whole, None)
    (resolved,) = kpis.resolution(tickets, whole, None)
    (sla,) = kpis.sla(clocks, whole, None)
    (escalated,) = kpis.escalations(tickets, escalations, whole, None)
    (fcr,) = kpis.fcr(tickets, whole, None, as_of)
    (csat,) = kpis.csat(tickets, whole, None)
    (reopens,) = kpis.reopens(tickets, whole, None)
    return {
        "from": start,
        "to": end,
        "created": volume["created"],
        "solved": volume["solved"],
        "reopened": volume["reopened"],
        "backlog": volume["backlog"],
        "first_reply": {name: first[name] for name in DURATION_FIELDS},
        "resolution": {name: resolved[name] for name in DURATION_FIELDS},
        "sla_adherence_percent": sla["adherence_percent"],
        "escalation_rate_percent": escalated["escalation_rate_percent"],
        "open_escalations_by_level": kpis.open_escalations_by_level(open_escalations),
        "fcr_percent": fcr["fcr_percent"],
        "csat_percent": csat["csat_percent"],
        "csat_response_rate_percent": csat["response_rate_percent"],
        "reopen_rate_percent": reopens["reopen_rate_percent"],
    }
