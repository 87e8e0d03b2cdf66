"""Every field a ticket's events carry is bounded, on every channel, so the broker always takes them.

A 1.5 MB custom field used to be accepted (201) and then block the outbox relay for every
ticket behind it; now it is a 422 problem naming the field, and the next ticket is published.
"""

from __future__ import annotations

import uuid
from email.message import EmailMessage
from typing import Any

import httpx
import pytest

from services.ingest.domain import limits
from shared.events import topics
from tests.support.db import fetch
from tests.support.ingest import ingest_client, issue_key, signed_webhook, unique
from tests.support.kafka import about, read_all

pytestmark = pytest.mark.integration
SECRET = "whsec_" + "Ym91bmRzLWFyZS1mb3ItZXZlcnktZmllbGQ="
HUGE = "x" * 1_500_000


@pytest.fixture
async def http(infra):
    async with ingest_client(infra) as client:
        yield client


def ticket(**extra: Any) -> dict[str, Any]:
    return {"subject": "Export fails", "body": "It spins.", "requester": {"email": "b@customer.example"}, **extra}


def assert_field_problem(response: httpx.Response, field: str) -> None:
    assert response.status_code == 422, response.text
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in problem["errors"]] == [field], problem
    assert field in problem["detail"]


async def published(infra, ticket_id: str) -> list[str]:
    records = await read_all(infra.bootstrap_servers, topics.TICKETS, until=lambda rs: bool(about(rs, ticket_id)))
    return [e.type for e in about(records, ticket_id)]


async def test_a_huge_custom_field_is_a_422_and_the_next_ticket_is_still_published(http, infra):
    refused = await http.post("/v1/tickets", json=ticket(custom_fields={"notes": HUGE}))
    assert_field_problem(refused, "custom_fields")

    created = await http.post("/v1/tickets", json=ticket(custom_fields={"plan": "pro"}))
    assert created.status_code == 201, created.text
    assert await published(infra, created.json()["id"]) == ["switchboard.ticket.received"]


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"custom_fields": {f"f{i}": i for i in range(limits.MAX_CUSTOM_FIELDS + 1)}}, "custom_fields"),
        ({"custom_fields": {"k" * (limits.MAX_CUSTOM_FIELD_KEY_CHARS + 1): 1}}, "custom_fields"),
        ({"tags": ["t"] * (limits.MAX_TAGS + 1)}, "tags"),
        ({"tags": ["t" * (limits.MAX_TAG_CHARS + 1)]}, "tags.0"),
        ({"requester": {"email": "b@customer.example", "name": "n" * 300}}, "requester.name"),
        ({"external_ref": {"source": "shop", "external_id": "9" * 300}}, "external_ref.external_id"),
        ({"body": "b" * (limits.MAX_BODY_CHARS + 1)}, "body"),
    ],
)
async def test_each_bounded_api_field_is_named_in_its_422(http, extra, field):
    assert_field_problem(await http.post("/v1/tickets", json=ticket(**extra)), field)


async def test_custom_fields_merged_past_the_bound_are_a_422(http):
    created = await http.post("/v1/tickets", json=ticket())
    ticket_id = created.json()["id"]
    half = "y" * (limits.MAX_CUSTOM_FIELDS_BYTES // 2 + 100)
    assert (await http.patch(f"/v1/tickets/{ticket_id}", json={"custom_fields": {"a": half}})).status_code == 200
    assert_field_problem(
        await http.patch(f"/v1/tickets/{ticket_id}", json={"custom_fields": {"b": half}}), "custom_fields"
    )
    assert (await http.get(f"/v1/tickets/{ticket_id}")).json()["custom_fields"] == {"a": half}


async def test_a_chat_with_a_huge_custom_field_is_a_422(http):
    widget = await issue_key(http, "platform", source=unique("widget"))
    body = {"requester": {"email": "c@customer.example"}, "message": "hi", "custom_fields": {"notes": HUGE}}
    assert_field_problem(await http.post("/v1/chats", json=body, headers=widget), "custom_fields")


def _signed(payload: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    return signed_webhook(payload, SECRET)


async def test_a_webhook_with_a_huge_custom_field_is_a_422_and_opens_nothing(http, infra):
    source = unique("bounds")
    put = await http.put(f"/v1/admin/webhook-sources/{source}", json={"kind": "generic", "secrets": [SECRET]})
    assert put.status_code == 200, put.text

    def created(external_id: str, **extra: Any) -> dict[str, Any]:
        return {
            "event": "ticket.created",
            "external_id": external_id,
            "subject": "Big",
            "body": "Carries a big field.",
            "requester": {"email": "w@customer.example"},
            **extra,
        }

    # under the webhook body limit (1 MiB), far over the event's bound
    big = created("EXT-big", custom_fields={"notes": "z" * 200_000})
    raw, headers = _signed(big)
    assert_field_problem(await http.post(f"/v1/webhooks/{source}", content=raw, headers=headers), "custom_fields")
    listed = await http.get("/v1/tickets", params={"external_source": source, "external_id": "EXT-big"})
    assert listed.json()["items"] == [], "nothing was opened"

    raw, headers = _signed(created("EXT-next"))
    accepted = await http.post(f"/v1/webhooks/{source}", content=raw, headers=headers)
    assert accepted.status_code == 202, accepted.text
    (result,) = accepted.json()["results"]
    assert await published(infra, result["ticket_id"]) == ["switchboard.ticket.received"]


async def test_a_mail_with_a_huge_subject_is_cut_to_the_bound_and_kept_raw(http, infra):
    domain = f"{unique('bounds')}.example"
    assert (await http.put(f"/v1/admin/mailboxes/support@{domain}", json={"brand": "bounds"})).is_success
    platform = await issue_key(http, "platform", source="mail-bounds")
    message = EmailMessage()
    message["From"], message["To"] = "long@customer.example", f"support@{domain}"
    message["Subject"] = subject = unique("S") + " " + "word " * 400
    message["Message-ID"] = f"<{uuid.uuid4()}@customer.example>"
    message.set_content("A mail whose subject is far too long.")
    answer = await http.post(
        "/v1/inbound/email", content=bytes(message), headers={**platform, "content-type": "message/rfc822"}
    )
    assert answer.status_code == 202, answer.text
    outcome = answer.json()
    assert outcome["outcome"] == "ticket_opened" and "cut to limits: subject" in outcome["reason"]
    opened = (await http.get(f"/v1/tickets/{outcome['ticket_id']}")).json()
    assert limits.MAX_SUBJECT_CHARS - 5 <= len(opened["subject"]) <= limits.MAX_SUBJECT_CHARS
    assert subject.startswith(opened["subject"])
    (row,) = await fetch(infra, "select raw from ingest.inbound_emails where id = $1", outcome["inbound_id"])
    assert row["raw"] == bytes(message), "the whole mail is kept"
