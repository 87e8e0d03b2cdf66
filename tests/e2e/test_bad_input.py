"""Inputs that PostgreSQL, the JSON encoder or the parser cannot take get a 4xx problem, never a 500.

Each case was a 500 once: NUL characters (PostgreSQL text and JSONB reject them) in bodies, keys,
paths, query parameters and cursors; NaN in free-form fields; nesting deep enough to exhaust
the parser or the serializer. They run against the real processes, database and broker.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest

from shared.stack.local import ServiceProcess
from tests.support.api import ADMIN
from tests.support.ingest import standard_webhook_headers

pytestmark = pytest.mark.e2e
SECRET = "whsec_" + "YmFkLWlucHV0LXNlY3JldC1mb3ItdGVzdHM="
TICKET = {"subject": "Printer", "body": "It jams.", "requester": {"email": "nul@customer.example"}}


def _nested(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = {"a": value}
    return value


def _deep_json(depth: int) -> str:
    """Built as text: the encoder itself would refuse this depth."""
    return '{"a":' * depth + '"leaf"' + "}" * depth


def _problem(response: httpx.Response, *names: str) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    assert response.headers["content-type"] == "application/problem+json", response.headers
    detail = response.json().get("detail", "") + json.dumps(response.json().get("errors", []))
    for name in names:
        assert name in detail, f"the problem should name {name!r}: {detail[:300]}"


@pytest.fixture
async def urls(services: dict[str, ServiceProcess]) -> dict[str, str]:
    return {name: process.url for name, process in services.items()}


@pytest.fixture
async def http() -> Any:
    async with httpx.AsyncClient(timeout=60, headers=ADMIN) as client:
        yield client


@pytest.fixture
async def source(http: httpx.AsyncClient, urls: dict[str, str]) -> str:
    name = f"bad-{uuid.uuid4().hex[:8]}"
    response = await http.put(
        f"{urls['ingest']}/v1/admin/webhook-sources/{name}", json={"kind": "generic", "secrets": [SECRET]}
    )
    assert response.status_code == 200, response.text
    return name


def _signed(raw: bytes) -> dict[str, str]:
    return standard_webhook_headers(raw, SECRET)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**TICKET, "subject": "Print\u0000er"}, "subject"),
        ({**TICKET, "requester": {"email": "nul@customer.example", "name": "N\u0000"}}, "requester.name"),
        ({**TICKET, "tags": ["ok", "b\u0000d"]}, "tags.1"),
        ({**TICKET, "custom_fields": {"k\u0000ey": 1}}, "custom_fields"),
        ({**TICKET, "custom_fields": {"order": "x\u0000"}}, "custom_fields.order"),
    ],
)
async def test_nul_in_a_ticket_body_is_a_422_naming_the_field(
    http: httpx.AsyncClient, urls: dict[str, str], body: dict[str, Any], field: str
) -> None:
    _problem(await http.post(f"{urls['ingest']}/v1/tickets", json=body), field)


async def test_nan_and_deep_nesting_in_custom_fields_are_422s(http: httpx.AsyncClient, urls: dict[str, str]) -> None:
    nan = json.dumps({**TICKET, "custom_fields": {"score": float("nan")}})
    headers = {"content-type": "application/json"}
    _problem(await http.post(f"{urls['ingest']}/v1/tickets", content=nan, headers=headers), "custom_fields.score")
    deep = json.dumps({**TICKET, "custom_fields": {"x": "PLACEHOLDER"}}).replace('"PLACEHOLDER"', _deep_json(900))
    _problem(await http.post(f"{urls['ingest']}/v1/tickets", content=deep, headers=headers), "custom_fields")


async def test_nul_and_deep_nesting_in_webhooks_are_422s(
    http: httpx.AsyncClient, urls: dict[str, str], source: str
) -> None:
    created = {"event": "ticket.created", "external_id": "E-1", **TICKET}
    for raw, field in (
        (json.dumps({**created, "subject": "a\u0000b"}).encode(), "subject"),
        (json.dumps({**created, "custom_fields": {"\u0000": 1}}).encode(), "custom_fields"),
        (_deep_json(10_000).encode(), "a.a.a.a"),  # where the nesting passes the limit (shortened)
    ):
        response = await http.post(f"{urls['ingest']}/v1/webhooks/{source}", content=raw, headers=_signed(raw))
        _problem(response, field)


async def test_nul_in_chats_and_admin_bodies_is_a_422(http: httpx.AsyncClient, urls: dict[str, str]) -> None:
    ingest, router = urls["ingest"], urls["router"]
    chat = {"requester": {"email": "c@customer.example"}, "message": "hi\u0000"}
    _problem(await http.post(f"{ingest}/v1/chats", json=chat), "message")
    brand = {"kind": "generic", "secrets": [SECRET], "brand": "a\u0000"}
    _problem(await http.put(f"{ingest}/v1/admin/webhook-sources/src-{uuid.uuid4().hex[:6]}", json=brand), "brand")
    _problem(await http.put(f"{router}/v1/agents/ag-{uuid.uuid4().hex[:6]}", json={"name": "A\u0000"}), "name")
    queue = {"overflow_queue": "q\u0000"}
    _problem(await http.put(f"{router}/v1/queues/q-{uuid.uuid4().hex[:6]}", json=queue), "overflow_queue")


@pytest.mark.parametrize(
    ("service", "path", "name"),
    [
        ("ingest", "/v1/tickets/abc%00def", "ticket_id"),
        ("ingest", "/v1/tickets?brand=a%00b", "brand"),
        ("ingest", "/v1/tickets?cursor=YQ%00", "cursor"),
        ("ingest", "/v1/webhooks/src%00x", "source"),
        ("router", "/v1/queues/tri%00age", "name"),
        ("router", "/v1/agents/a%00b", "agent_id"),
        ("router", "/v1/tickets/t%00", "ticket_id"),
    ],
)
async def test_nul_in_paths_and_query_parameters_is_a_422(
    http: httpx.AsyncClient, urls: dict[str, str], service: str, path: str, name: str
) -> None:
    method = "POST" if "/webhooks/" in path else "GET"
    _problem(await http.request(method, f"{urls[service]}{path}", content=b"{}"), name)


async def test_numbers_beyond_what_the_database_or_date_arithmetic_take_are_422s(
    http: httpx.AsyncClient, urls: dict[str, str]
) -> None:
    router = urls["router"]
    agent = {"name": "Big", "capacity": {"email": 49_513_939_386_650}}  # found by schemathesis: int32 overflow
    _problem(await http.put(f"{router}/v1/agents/ag-{uuid.uuid4().hex[:6]}", json=agent), "capacity.email")
    queue = {"wait_limit_s": 10**15}  # timedelta(seconds=...) overflows
    _problem(await http.put(f"{router}/v1/queues/q-{uuid.uuid4().hex[:6]}", json=queue), "wait_limit_s")


async def test_a_chunked_body_over_the_limit_is_a_413_not_a_parse_error(
    http: httpx.AsyncClient, urls: dict[str, str]
) -> None:
    async def chunks() -> Any:
        yield b'{"subject": "big", "body": "'
        for _ in range(48):
            yield b"x" * 65536  # 3 MiB in all, no Content-Length: the limit must count what streams in
        yield b'", "requester": {}}'

    response = await http.post(
        f"{urls['ingest']}/v1/tickets", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413, (response.status_code, response.text[:300])
    assert response.headers["content-type"] == "application/problem+json"


async def test_a_rule_id_in_the_path_follows_the_rule_id_syntax(http: httpx.AsyncClient, urls: dict[str, str]) -> None:
    rule = {"conditions": {"tags_any": ["x"]}, "actions": {"queue": "triage"}}
    _problem(await http.put(f"{urls['router']}/v1/rules/%C3%AD%C3%9EZ", json=rule), "rule_id")  # found by schemathesis
