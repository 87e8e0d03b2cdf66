"""Insights' service: the projection consumer (its own group on the tickets, routing, sla and
escalations topics) and the managers' REST API for KPIs and live views. This module only assembles it."""

from __future__ import annotations

from services.insights.adapters.tables import tables
from services.insights.entrypoints import dashboard, kpis, live
from services.insights.entrypoints.consumer import run_projections
from services.insights.settings import InsightsSettings
from shared.skeleton import ServiceSkeleton

ROUTERS = (kpis.router, live.router, dashboard.router)

SERVICE = ServiceSkeleton(
    "insights",
    InsightsSettings,
    tables,
    workers=(("insights-projections", run_projections),),
    routers=ROUTERS,
)
DEFINITION = SERVICE.definition
create_app = SERVICE.create_app
