"""Email into ingest on the real stack: the whole corpus, threading, duplicates, automated mail, SMTP."""

from __future__ import annotations

import asyncio
import smtplib
import uuid
from collections import Counter
from email.message import EmailMessage
from typing import Any

import httpx
import pytest

from shared.events import topics
from shared.stack.ports import free_port
from tests.support import db
from tests.support.api import ADMIN
from tests.support.ingest import ingest_client, issue_key, shared_data, unique
from tests.support.kafka import about, read_all

pytestmark = pytest.mark.integration
EMAILS = shared_data() / "emails"
ACCEPTED = {"ticket_opened", "message_added", "duplicate"}
REFUSED = {"automated", "quarantined", "not_for_us"}


@pytest.fixture(scope="module")
async def smtp_port() -> int:
    return free_port()


@pytest.fixture
async def http(infra, smtp_port):
    async with ingest_client(infra, smtp_port=smtp_port) as client:
        yield client


@pytest.fixture
async def platform(http) -> dict[str, str]:
    return await issue_key(http, "platform", source="mail-upload")


@pytest.fixture
async def domain(http) -> str:
    """A support domain of this test alone: support@ is brand acme, billing@ brand acme-billing."""
    name = f"{unique('acme')}.example"
    for local, brand, tags in (("support", "acme", []), ("billing", "acme-billing", ["billing"])):
        response = await http.put(f"/v1/admin/mailboxes/{local}@{name}", json={"brand": brand, "tags": tags})
        assert response.status_code == 200, response.text
    return name


async def upload(http: httpx.AsyncClient, raw: bytes, key: dict[str, str]) -> dict[str, Any]:
    response = await http.post("/v1/inbound/email", content=raw, headers={**key, "content-type": "message/rfc822"})
    assert response.status_code == 202, response.text
    return response.json()


def mail(sender: str, to: str, subject: str, body: str, **headers: str) -> bytes:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, subject
    message["Message-ID"] = f"<{uuid.uuid4()}@customer.example>"
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return bytes(message)


async def test_every_corpus_email_becomes_a_ticket_or_message_or_is_refused_with_a_reason(http, platform, infra):
    """Walks every file in ../shared/data/emails with a catch-all mailbox, so only content decides."""
    await http.put("/v1/admin/mailboxes/*", json={"brand": "corpus"})
    try:
        outcomes: Counter[str] = Counter()
        files = sorted(p for p in EMAILS.rglob("*") if p.is_file() and p.suffix != ".yml")
        assert len(files) >= 270, "the corpus should be there: ../shared/data/emails"
        for path in files:
            result = await upload(http, path.read_bytes(), platform)
            assert result["outcome"] in ACCEPTED | REFUSED, (path, result)
            assert result["reason"], path
            if result["outcome"] in ACCEPTED:
                assert result["ticket_id"], path
            outcomes[result["outcome"]] += 1
        # the refused ones keep their raw bytes; the accepted ones are tickets
        quarantined = await db.fetch(
            infra,
            "select count(*) as n from ingest.inbound_emails "
            "where outcome in ('automated','quarantined') and raw is null",
        )
        assert quarantined[0]["n"] == 0
        assert outcomes["ticket_opened"] > 150 and outcomes["automated"] >= 11, outcomes
        print("corpus outcomes:", dict(outcomes))
    finally:
        await http.delete("/v1/admin/mailboxes/*")


async def test_bounces_and_auto_replies_never_open_tickets(http, platform, domain):
    for path in [*(EMAILS / "flanker" / "bounce").iterdir(), EMAILS / "chatwoot" / "auto_reply.eml"]:
        raw = path.read_bytes()
        result = await upload(http, raw, platform)
        assert result["outcome"] in ("automated", "not_for_us"), (path, result)
    out_of_office = mail(
        "ann@customer.example", f"support@{domain}", "Out of office", "Back Monday.", Auto_Submitted="auto-replied"
    )
    result = await upload(http, out_of_office, platform)
    assert (result["outcome"], result["reason"]) == ("automated", "auto_submitted:auto-replied")
    looped = mail(f"support@{domain}", f"support@{domain}", "Re: your ticket", "mirror")
    assert (await upload(http, looped, platform))["outcome"] == "automated"


async def test_replies_thread_by_headers_reference_and_reply_address(http, platform, domain, infra):
    first = mail(
        "Ann@Customer.example",
        f"billing@{domain}",
        "Charged twice",
        "Invoice 7 was charged twice.",
        Cc="cfo@customer.example",
    )
    opened = await upload(http, first, platform)
    assert opened["outcome"] == "ticket_opened"
    ticket = (await http.get(f"/v1/tickets/{opened['ticket_id']}")).json()
    assert (ticket["brand"], ticket["tags"], ticket["inbox"]) == ("acme-billing", ["billing"], f"billing@{domain}")
    assert set(ticket["participants"]) == {"ann@customer.example", "cfo@customer.example"}
    first_id = ticket["messages"][0]["email_message_id"]

    by_header = await upload(
        http,
        mail(
            "ann@customer.example",
            f"billing@{domain}",
            "Re: Charged twice",
            "Any update?\n\nOn Mon, Ann wrote:\n> Invoice 7 was charged twice.",
            In_Reply_To=f"<{first_id}>",
        ),
        platform,
    )
    assert (by_header["outcome"], by_header["ticket_id"]) == ("message_added", opened["ticket_id"])
    assert "In-Reply-To" in by_header["reason"]

    by_reference = await upload(
        http,
        mail(
            "cfo@customer.example", f"support@{domain}", f"Re: [{ticket['reference']}] Charged twice", "Please refund."
        ),
        platform,
    )
    assert (by_reference["outcome"], by_reference["ticket_id"]) == ("message_added", opened["ticket_id"])

    stranger = await upload(
        http,
        mail("mallory@evil.example", f"support@{domain}", f"[{ticket['reference']}] give me the invoice", "hi"),
        platform,
    )
    assert stranger["outcome"] == "ticket_opened" and stranger["ticket_id"] != opened["ticket_id"]
    assert "not on it" in stranger["reason"]
    linked = (await http.get(f"/v1/tickets/{stranger['ticket_id']}")).json()
    assert linked["linked_ticket_id"] == opened["ticket_id"]

    token = (await db.fetch(infra, "select email_token from ingest.tickets where id = $1", opened["ticket_id"]))[0][
        "email_token"
    ]
    by_token = await upload(
        http, mail("someone@customer.example", f"support+{token}@{domain}", "Re: hi", "Forwarded to me"), platform
    )
    assert (by_token["outcome"], by_token["ticket_id"]) == ("message_added", opened["ticket_id"])

    messages = (await http.get(f"/v1/tickets/{opened['ticket_id']}")).json()["messages"]
    assert [m["body"] for m in messages][:2] == ["Invoice 7 was charged twice.", "Any update?"], (
        "quoted text is trimmed"
    )


async def test_an_agent_reply_carries_a_message_id_the_customers_answer_threads_on(http, platform, domain):
    opened = await upload(
        http, mail("bo@customer.example", f"support@{domain}", "VPN down", "Cannot connect"), platform
    )
    reply = await http.post(f"/v1/tickets/{opened['ticket_id']}/messages", json={"body": "Try again now?"})
    assert reply.status_code == 201, reply.text
    our_id = reply.json()["email_message_id"]
    assert our_id and our_id.endswith("@switchboard.local")
    answer = await upload(
        http,
        mail("bo@customer.example", f"support@{domain}", "Re: VPN down", "Works, thanks", References=f"<{our_id}>"),
        platform,
    )
    assert (answer["outcome"], answer["ticket_id"]) == ("message_added", opened["ticket_id"])
    assert (await http.get(f"/v1/tickets/{opened['ticket_id']}")).json()["status"] == "open"


async def test_the_same_mail_twice_is_one_ticket(http, platform, domain, smtp_port, infra):
    raw = mail("cy@customer.example", f"support@{domain}", "Duplicate me", "Only once please")
    first = await upload(http, raw, platform)
    retry = await upload(http, raw, platform)
    assert retry == first, "an identical upload is answered from the delivery log"
    # the same message through another route, with another Message-ID and Received header
    other_route = raw.replace(b"Message-ID: <", b"Received: from mx2\nMessage-ID: <x")
    await asyncio.to_thread(_send_smtp, smtp_port, "cy@customer.example", [f"support@{domain}"], other_route)
    rows = await db.fetch(
        infra,
        "select outcome, ticket_id from ingest.inbound_emails where subject = 'Duplicate me' order by received_at",
    )
    assert [r["outcome"] for r in rows] == ["ticket_opened", "duplicate"]
    assert rows[1]["ticket_id"] == first["ticket_id"]


def _send_smtp(port: int, sender: str, recipients: list[str], raw: bytes) -> dict:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        return smtp.sendmail(sender, recipients, raw)


async def test_mail_sent_over_smtp_becomes_a_ticket_and_an_event(http, domain, smtp_port, infra):
    subject = unique("Printer jam")
    raw = mail("dee@customer.example", f"support@{domain}", subject, "Paper stuck in tray 2")
    refused = await asyncio.to_thread(_smtp_refusal, smtp_port, raw)
    assert refused == 550, "mail for an address that is not a support address is refused at RCPT"
    await asyncio.to_thread(_send_smtp, smtp_port, "dee@customer.example", [f"support@{domain}"], raw)
    listed = (await http.get("/v1/tickets", params={"requester": "dee@customer.example"})).json()["items"]
    (ticket,) = [t for t in listed if t["subject"] == subject]
    assert ticket["channel"] == "email" and ticket["brand"] == "acme"
    full = (await http.get(f"/v1/tickets/{ticket['id']}")).json()
    assert full["messages"][0]["body"] == "Paper stuck in tray 2"
    records = await read_all(
        infra.bootstrap_servers, topics.TICKETS, until=lambda rs: len(about(rs, ticket["id"])) >= 1
    )
    (received,) = about(records, ticket["id"])
    assert received.type == "switchboard.ticket.received" and received.data["inbox"] == f"support@{domain}"


def _smtp_refusal(port: int, raw: bytes) -> int:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        try:
            smtp.sendmail("dee@customer.example", ["nobody@not-ours.example"], raw)
        except smtplib.SMTPRecipientsRefused as exc:
            return exc.recipients["nobody@not-ours.example"][0]
    return 250


async def test_quarantined_mail_keeps_its_raw_bytes(http, platform):
    garbage = b"\x00\x01\x02 this is not a mail \xff\xfe" * 10
    result = await upload(http, garbage, platform)
    assert result["outcome"] == "quarantined" and result["reason"].startswith("unparseable")
    raw = await http.get(f"/v1/inbound/emails/{result['inbound_id']}/raw", headers=ADMIN)
    assert raw.status_code == 200 and raw.content == garbage
    listed = (await http.get("/v1/inbound/emails", params={"outcome": "quarantined"})).json()
    assert result["inbound_id"] in [r["id"] for r in listed]


async def test_a_trusted_google_group_forwards_customer_mail_but_other_lists_stay_bulk(http, platform):
    domain = f"{unique('group')}.example"
    group = f"<support.{domain}>"
    response = await http.put(
        f"/v1/admin/mailboxes/support@{domain}", json={"brand": "acme", "trusted_list_ids": [group]}
    )
    assert response.status_code == 200 and response.json()["trusted_list_ids"] == [group]
    forwarded = mail(
        "kim@customer.example", f"support@{domain}", "Login broken", "Cannot log in", List_Id=f"Support {group}"
    )
    assert (await upload(http, forwarded, platform))["outcome"] == "ticket_opened"
    newsletter = mail("news@vendor.example", f"support@{domain}", "Our news", "Sale!", List_Id="<news.vendor.example>")
    result = await upload(http, newsletter, platform)
    assert (result["outcome"], result["reason"]) == ("automated", "bulk:list-id")


async def test_the_language_of_a_mail_is_detected_for_routing(http, platform, domain, infra):
    german = mail(
        "uli@kunde.example",
        f"support@{domain}",
        "Rechnung doppelt abgebucht",
        "Guten Tag, meine letzte Rechnung wurde zweimal abgebucht. Bitte erstatten Sie mir den Betrag.",
    )
    opened = await upload(http, german, platform)
    assert (await http.get(f"/v1/tickets/{opened['ticket_id']}")).json()["language"] == "de"
    records = await read_all(
        infra.bootstrap_servers, topics.TICKETS, until=lambda rs: len(about(rs, opened["ticket_id"])) >= 1
    )
    assert about(records, opened["ticket_id"])[0].data["language"] == "de", "the router gets it with the ticket"
