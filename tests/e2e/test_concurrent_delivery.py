"""Concurrent deliveries of one external ticket or one mail over real HTTP and SMTP: one ticket each.

Platforms fire several webhooks at once for one ticket (created + first message, or two
triggers), do not always reuse delivery ids, and a mail may arrive by SMTP and by a provider
at the same moment. The running ingest process must open one ticket whatever the timing.
"""

from __future__ import annotations

import asyncio
import smtplib
import uuid
from email.message import EmailMessage
from typing import Any

import httpx
import pytest

from shared.stack.local import ServiceProcess
from tests.support.api import ADMIN
from tests.support.db import fetch
from tests.support.ingest import signed_webhook

pytestmark = pytest.mark.e2e
SECRET = "whsec_" + "Y29uY3VycmVudC1kZWxpdmVyeS1zZWNyZXQ="


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _signed(payload: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    return signed_webhook(payload, SECRET)


async def _source(http: httpx.AsyncClient, ingest: str) -> str:
    name = _unique("race")
    response = await http.put(
        f"{ingest}/v1/admin/webhook-sources/{name}", json={"kind": "generic", "secrets": [SECRET], "brand": "race"}
    )
    assert response.status_code == 200, response.text
    return name


async def _tickets_for(http: httpx.AsyncClient, ingest: str, source: str, external_id: str) -> list[dict[str, Any]]:
    response = await http.get(
        f"{ingest}/v1/tickets", params={"external_source": source, "external_id": external_id, "limit": 100}
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def _created(external_id: str) -> dict[str, Any]:
    return {
        "event": "ticket.created",
        "external_id": external_id,
        "subject": "Export spins forever",
        "body": "The export button never finishes.",
        "requester": {"email": "race@customer.example", "name": "Rae"},
    }


@pytest.fixture
def ingest(services: dict[str, ServiceProcess]) -> str:
    return services["ingest"].url


async def test_fifty_concurrent_created_webhooks_with_their_own_ids_open_one_ticket(ingest: str) -> None:
    async with httpx.AsyncClient(timeout=60, headers=ADMIN) as http:
        source = await _source(http, ingest)
        external_id = _unique("EXT")
        deliveries = [_signed(_created(external_id)) for _ in range(50)]
        answers = await asyncio.gather(
            *(http.post(f"{ingest}/v1/webhooks/{source}", content=raw, headers=h) for raw, h in deliveries)
        )
        assert [a.status_code for a in answers] == [202] * 50, [a.text for a in answers if a.status_code != 202]
        tickets = await _tickets_for(http, ingest, source, external_id)
        assert len(tickets) == 1, f"{len(tickets)} tickets for one external ticket"
        ids = {r["ticket_id"] for a in answers for r in a.json()["results"] if r.get("ticket_id")}
        assert ids == {tickets[0]["id"]}, "every delivery names the one ticket"


async def test_created_racing_the_first_message_gives_one_ticket_with_both(ingest: str) -> None:
    async with httpx.AsyncClient(timeout=60, headers=ADMIN) as http:
        source = await _source(http, ingest)
        for _ in range(5):
            external_id = _unique("EXT")
            message = {"event": "message.created", "external_id": external_id, "body": "Any news on this?"}
            deliveries = [_signed(_created(external_id)), _signed(message)] * 10
            answers = await asyncio.gather(
                *(http.post(f"{ingest}/v1/webhooks/{source}", content=raw, headers=h) for raw, h in deliveries)
            )
            assert {a.status_code for a in answers} == {202}, [a.text for a in answers]
            (ticket,) = await _tickets_for(http, ingest, source, external_id)
            full = (await http.get(f"{ingest}/v1/tickets/{ticket['id']}")).json()
            bodies = {m["body"] for m in full["messages"]}
            assert bodies == {"The export button never finishes.", "Any news on this?"}


async def test_twenty_concurrent_api_creates_with_one_external_ref_open_one_ticket(ingest: str) -> None:
    async with httpx.AsyncClient(timeout=60, headers=ADMIN) as http:
        source = await _source(http, ingest)
        external_id = _unique("EXT")
        body = {
            "subject": "Refund please",
            "body": "Charged twice.",
            "requester": {"email": "api-race@customer.example"},
            "external_ref": {"source": source, "external_id": external_id},
        }
        answers = await asyncio.gather(
            *(
                http.post(f"{ingest}/v1/tickets", json=body, headers={"Idempotency-Key": uuid.uuid4().hex})
                for _ in range(20)
            )
        )
        codes = sorted(a.status_code for a in answers)
        assert codes == [201] + [409] * 19, [a.text for a in answers]
        assert len(await _tickets_for(http, ingest, source, external_id)) == 1


def _mail(to: str, subject: str) -> bytes:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "twice@customer.example", to, subject
    message["Message-ID"] = f"<{uuid.uuid4()}@customer.example>"
    message.set_content("The same mail, through two routes at once.")
    return bytes(message)


def _send_smtp(port: int, to: str, raw: bytes) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=60) as smtp:
        smtp.sendmail("twice@customer.example", [to], raw)


async def test_the_same_mail_by_smtp_and_upload_at_once_is_one_ticket(
    services: dict[str, ServiceProcess], ingest: str, infra: Any
) -> None:
    smtp_port = int(services["ingest"].env["SMTP_PORT"])
    async with httpx.AsyncClient(timeout=60, headers=ADMIN) as http:
        domain = f"{_unique('twice')}.example"
        assert (await http.put(f"{ingest}/v1/admin/mailboxes/support@{domain}", json={"brand": "twice"})).is_success
        key = await http.post(
            f"{ingest}/v1/api-keys", json={"role": "platform", "name": _unique("p"), "source": "mail-race"}
        )
        platform = {"Authorization": f"Bearer {key.json()['key']}", "content-type": "message/rfc822"}
        subject = _unique("Twice")
        raw = _mail(f"support@{domain}", subject)
        # another route adds its own Received header: only the content hash can tell they are one mail
        routed = [raw.replace(b"Message-ID:", f"Received: from mx{i}\nMessage-ID:".encode()) for i in range(12)]
        uploads = [http.post(f"{ingest}/v1/inbound/email", content=r, headers=platform) for r in routed[:8]]
        smtp = [asyncio.to_thread(_send_smtp, smtp_port, f"support@{domain}", r) for r in routed[8:]]
        results = await asyncio.gather(*uploads, *smtp)
        assert all(r is None or r.status_code == 202 for r in results), results
    rows = await fetch(infra, "select outcome, ticket_id from ingest.inbound_emails where subject = $1", subject)
    outcomes = sorted(r["outcome"] for r in rows)
    assert outcomes == ["duplicate"] * 11 + ["ticket_opened"], outcomes
    assert len({r["ticket_id"] for r in rows}) == 1
