"""No input gets a 500: hypothesis-generated bodies against the real endpoints, database and broker.

Hypothesis generates the inputs up front (the check itself needs the event loop); each one is
posted and must get a deliberate answer: accepted (2xx) or a 4xx problem document.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.ingest.webhooks import ADAPTERS
from tests.support.ingest import ingest_client, issue_key, unique

pytestmark = pytest.mark.integration

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=20,
)
KEYS = [
    "event",
    "type",
    "topic",
    "event_type",
    "external_id",
    "subject",
    "body",
    "requester",
    "ticket",
    "data",
    "freshdesk_webhook",
    "conversation",
    "message_type",
    "detail",
    "status",
    "priority",
    "id",
]
PLAUSIBLE = st.dictionaries(st.sampled_from(KEYS), JSON, max_size=8)


def examples(strategy: st.SearchStrategy, count: int) -> list:
    found: list = []

    @settings(max_examples=count, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(strategy)
    def collect(value: Any) -> None:
        found.append(value)

    collect()
    return found


def _deliberate(response: httpx.Response) -> bool:
    if 200 <= response.status_code < 300:
        return True
    return 400 <= response.status_code < 500 and response.headers["content-type"] == "application/problem+json"


async def test_random_webhook_bodies_never_get_a_500(infra):
    async with ingest_client(infra) as http:
        sources = {}
        for kind in ADAPTERS:
            name = unique(kind)
            await http.put(f"/v1/admin/webhook-sources/{name}", json={"kind": kind, "secrets": ["s3cret"]})
            sources[kind] = name
        bodies = [json.dumps(v).encode() for v in examples(JSON | PLAUSIBLE, 120)]
        bodies += [b"", b"{", b"\xff\xfe", b"[]", b"null", b'{"event": "ticket.created"}']
        for kind, name in sources.items():
            for body in bodies:
                response = await http.post(
                    f"/v1/webhooks/{name}", content=body, headers={"content-type": "application/json"}
                )
                assert _deliberate(response), (kind, body[:200], response.status_code, response.text[:300])


async def test_random_email_bytes_are_recorded_never_a_500(infra):
    async with ingest_client(infra) as http:
        platform = await issue_key(http, "platform", source="fuzz")
        bodies = examples(st.binary(min_size=1, max_size=400), 60)
        bodies += [b"From: a@b.example\r\nTo: " + b"x" * 5000 + b"\r\n\r\nhi", b"Subject: =?utf-8?b?!!!?=\r\n\r\n"]
        for body in bodies:
            response = await http.post(
                "/v1/inbound/email", content=body, headers={**platform, "content-type": "message/rfc822"}
            )
            assert _deliberate(response), (body[:200], response.status_code, response.text[:300])


async def test_random_ticket_bodies_never_get_a_500(infra):
    async with ingest_client(infra) as http:
        for value in examples(JSON | PLAUSIBLE, 80):
            response = await http.post("/v1/tickets", json=value)
            assert _deliberate(response), (value, response.status_code, response.text[:300])
