"""The router's /v1 routes refuse query parameters they do not take, and path numbers out of range."""

from __future__ import annotations

import pytest

from tests.support.router import router_client

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def http(infra):
    async with router_client(infra) as client:
        yield client


@pytest.mark.parametrize(
    ("path", "param"),
    [
        ("/v1/agents", "team"),
        ("/v1/queues", "nam"),
        ("/v1/overview", "queue"),
        ("/v1/rules", "version"),
        ("/v1/rules/versions", "limit"),
        ("/v1/tickets/t-1", "verbose"),
    ],
)
async def test_an_unknown_query_parameter_is_a_422_naming_it(http, path, param):
    response = await http.get(path, params={param: "x"})
    assert response.status_code == 422, response.text
    assert param in response.json()["detail"] and "unknown query parameter" in response.json()["detail"]


@pytest.mark.parametrize("version", ["0", "-1", str(2**31), str(2**63)])
async def test_a_rule_set_version_out_of_range_is_a_422_not_a_database_error(http, version):
    response = await http.get(f"/v1/rules/versions/{version}")
    assert response.status_code == 422, response.text
    assert "version" in response.json()["detail"]
