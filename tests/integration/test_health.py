"""Every service, run as a real process on the fixture stack, reports itself healthy and ready."""

from __future__ import annotations

import httpx
import pytest

from shared.migrations import SERVICES

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("name", SERVICES)
def test_service_answers_readyz_200_with_database_and_kafka_ok(services, name):
    response = httpx.get(f"{services[name].url}/readyz", timeout=5)
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ready", "service": name, "checks": {"database": "ok", "kafka": "ok"}}


@pytest.mark.parametrize("name", SERVICES)
def test_service_answers_healthz_and_exposes_prometheus_metrics(services, name):
    assert httpx.get(f"{services[name].url}/healthz", timeout=5).json() == {"status": "ok"}
    metrics = httpx.get(f"{services[name].url}/metrics", timeout=5)
    assert metrics.status_code == 200
    assert 'switchboard_http_requests_total{method="GET",route="/healthz",status="200"}' in metrics.text, (
        "requests are counted by route template and status"
    )


def test_unknown_route_is_a_problem_document(services):
    response = httpx.get(f"{services['router'].url}/v1/nowhere", timeout=5)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 404 and response.json()["detail"]
