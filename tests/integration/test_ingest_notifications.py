"""Agents' replies on email tickets go out through the SMTP relay with headers the answer threads on."""

from __future__ import annotations

import email
import email.policy
import uuid
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope

from shared.stack.ports import free_port
from tests.support.ingest import ingest_client, issue_key, unique
from tests.support.kafka import eventually

pytestmark = pytest.mark.integration


class Sink:
    def __init__(self) -> None:
        self.mails: list[tuple[list[str], EmailMessage]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)  # aiosmtpd leaves DATA undecoded by default
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.mails.append((list(envelope.rcpt_tos), parsed))
        return "250 OK"


@pytest.fixture
def relay():
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, sink
    controller.stop()


def customer_mail(to: str, subject: str, body: str, **headers: str) -> bytes:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "Fay <fay@customer.example>", to, subject
    message["Message-ID"] = f"<{uuid.uuid4()}@customer.example>"
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return bytes(message)


async def test_a_public_reply_is_mailed_and_the_answer_threads_back(infra, relay):
    controller, sink = relay
    domain = f"{unique('notify')}.example"
    async with ingest_client(
        infra, smtp_relay_host="127.0.0.1", smtp_relay_port=controller.port, mail_send_interval_s=0.1
    ) as http:
        await http.put(f"/v1/admin/mailboxes/support@{domain}", json={"brand": "acme"})
        platform = await issue_key(http, "platform", source="mail")

        def upload(raw):
            return http.post("/v1/inbound/email", content=raw, headers={**platform, "content-type": "message/rfc822"})

        first_raw = customer_mail(f"support@{domain}", "Locked out", "My account is locked.")
        opened = (await upload(first_raw)).json()
        ticket = (await http.get(f"/v1/tickets/{opened['ticket_id']}")).json()

        note = await http.post(f"/v1/tickets/{ticket['id']}/messages", json={"body": "internal only", "public": False})
        reply = await http.post(f"/v1/tickets/{ticket['id']}/messages", json={"body": "Unlocked it for you."})
        assert note.status_code == reply.status_code == 201

        # the database is shared: earlier tests' queued replies go out through this relay too
        def for_this_ticket() -> list:
            return [m for m in sink.mails if m[1]["X-Switchboard-Ticket"] == ticket["id"]]

        await eventually(for_this_ticket, timeout=20)
        assert len(for_this_ticket()) == 1, "internal notes are never mailed"
        recipients, sent = for_this_ticket()[0]
        assert recipients == ["fay@customer.example"]
        assert f"[{ticket['reference']}]" in sent["Subject"] and sent["Subject"].startswith("Re: ")
        assert sent["Message-ID"] == f"<{reply.json()['email_message_id']}>"
        assert sent["In-Reply-To"] == f"<{ticket['messages'][0]['email_message_id']}>"
        assert sent["Reply-To"].startswith("support+") and sent["Reply-To"].endswith(f"@{domain}")
        assert sent["X-Switchboard-Loop"] == ticket["reference"]
        assert sent.get_content().strip() == "Unlocked it for you."

        answer = customer_mail(sent["Reply-To"], sent["Subject"], "Thanks, works!", In_Reply_To=sent["Message-ID"])
        threaded = (await upload(answer)).json()
        assert (threaded["outcome"], threaded["ticket_id"]) == ("message_added", ticket["id"])

        # a customer's auto-forward sends our notification back to the support address
        bounced_back = (
            bytes(sent)
            .replace(b"Message-ID: <", b"Message-ID: <echo-")
            .replace(b"To: fay@customer.example", f"To: support@{domain}".encode())
        )
        assert (await upload(bounced_back)).json()["outcome"] == "automated", "our own mail coming back is a loop"


async def test_with_the_relay_down_notifications_wait_and_record_why(infra):
    domain = f"{unique('down')}.example"
    dead_port = free_port()
    async with ingest_client(
        infra, smtp_relay_host="127.0.0.1", smtp_relay_port=dead_port, mail_send_interval_s=0.1
    ) as http:
        await http.put(f"/v1/admin/mailboxes/support@{domain}", json={"brand": "acme"})
        platform = await issue_key(http, "platform", source="mail")
        opened = (
            await http.post(
                "/v1/inbound/email",
                content=customer_mail(f"support@{domain}", "Help", "please"),
                headers={**platform, "content-type": "message/rfc822"},
            )
        ).json()
        await http.post(f"/v1/tickets/{opened['ticket_id']}/messages", json={"body": "On it"})

        async def attempted() -> list[dict[str, Any]]:
            rows = (await http.get("/v1/outbound/emails", params={"ticket_id": opened["ticket_id"]})).json()
            return [r for r in rows if r["attempts"] >= 1 and r["status"] != "sending"]

        found = await eventually(attempted, timeout=20)
        assert isinstance(found, list) and len(found) == 1, found
        row = found[0]
        assert row["status"] == "queued" and row["last_error"], "kept for a retry with the reason"
