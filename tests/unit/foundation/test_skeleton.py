"""A service built from the skeleton gets its plumbing tables, its definition and a working app."""

from __future__ import annotations

import httpx
import pytest

from services.escalation.entrypoints.api import SERVICE as ESCALATION
from services.sla.entrypoints.api import SERVICE as SLA
from shared.settings import BaseServiceSettings
from shared.skeleton import ServiceSkeleton, service_tables


def test_service_tables_put_the_plumbing_in_the_services_schema() -> None:
    tables = service_tables("timers")
    assert tables.metadata.schema == "timers"
    assert set(tables.metadata.tables) == {
        "timers.outbox",
        "timers.inbox",
        "timers.dead_letters",
        "timers.api_keys",
    }


@pytest.mark.parametrize("service", [SLA, ESCALATION], ids=lambda s: s.name)
def test_a_skeleton_service_keeps_its_api_keys_in_step_with_ingest(
    service: ServiceSkeleton[BaseServiceSettings],
) -> None:
    # the access subscription comes after the service's own consumers
    subscription = service.definition.all_subscriptions()[-1]
    assert subscription.consumer == f"{service.name}-access"


@pytest.mark.parametrize("service", [SLA, ESCALATION], ids=lambda s: s.name)
async def test_a_skeleton_service_answers_the_operations_endpoints(
    service: ServiceSkeleton[BaseServiceSettings],
) -> None:
    app = service.create_app(service.settings(_env_file=None))
    assert app.title == f"Switchboard {service.name}"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}


def test_a_service_must_keep_its_tables_in_its_own_schema() -> None:
    with pytest.raises(ValueError, match="schema 'sla'"):
        ServiceSkeleton("sla", BaseServiceSettings, service_tables("escalation"))
