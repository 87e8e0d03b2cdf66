"""SendGrid, Mailgun and Postmark inbound-parse webhooks into ingest, on the real Kafka and PostgreSQL.

Payload shapes follow the providers' documentation (see tests/unit/ingest_email/test_providers.py).
The database is shared with other tests: domains, subjects and senders carry a random part.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
import uuid
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.ingest.entrypoints import access, email, providers, tickets, webhooks
from services.ingest.entrypoints.api import DEFINITION
from services.ingest.webhooks import sign_mailgun
from shared.web.app import create_service_app
from tests.support.api import ADMIN
from tests.support.ingest import ingest_settings, unique

pytestmark = pytest.mark.integration

MAX_EMAIL_BYTES = 512 * 1024
MAILGUN_KEY = "key-mailgun-http-webhook-signing-key"
PDF = b"%PDF-1.4\n" + b"provider test " * 500 + b"\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8


@pytest.fixture(scope="module")
async def http(infra):
    settings = ingest_settings(infra, max_email_bytes=MAX_EMAIL_BYTES)
    app = create_service_app(
        DEFINITION, settings, routers=[tickets.router, webhooks.router, email.router, access.router, providers.router]
    )
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ingest", timeout=30) as client,
    ):
        yield client


@pytest.fixture(scope="module")
async def domain(http) -> str:
    """A catch-all support domain of this module alone."""
    name = f"{unique('acme')}.example"
    response = await http.put(
        f"/v1/admin/mailboxes/*@{name}", json={"brand": "acme", "tags": ["provider"]}, headers=ADMIN
    )
    assert response.status_code == 200, response.text
    return name


async def add_source(http: httpx.AsyncClient, kind: str, secret: str = "unused-placeholder") -> str:
    name = unique(kind)
    response = await http.put(
        f"/v1/admin/webhook-sources/{name}", json={"kind": kind, "secrets": [secret], "brand": "acme"}, headers=ADMIN
    )
    assert response.status_code == 200, response.text
    return name


async def platform_key(http: httpx.AsyncClient, source: str) -> str:
    response = await http.post(
        "/v1/api-keys", json={"role": "platform", "name": unique("provider"), "source": source}, headers=ADMIN
    )
    assert response.status_code == 201, response.text
    return response.json()["key"]


def basic(key: str, user: str = "provider") -> dict[str, str]:
    """What SendGrid and Postmark send for a URL like https://provider:KEY@host/..."""
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{key}".encode()).decode()}


def multipart(parts: list[tuple[str, bytes | str, str | None, str | None]]) -> tuple[bytes, dict[str, str]]:
    boundary = "xYzZY"
    out = b""
    for name, value, filename, content_type in parts:
        data = value.encode() if isinstance(value, str) else value
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        out += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n".encode("utf-8", "surrogatepass")
        out += f"Content-Type: {content_type}\r\n".encode() if content_type else b""
        out += b"\r\n" + data + b"\r\n"
    return out + f"--{boundary}--\r\n".encode(), {"content-type": f"multipart/form-data; boundary={boundary}"}


async def ticket(http: httpx.AsyncClient, ticket_id: str) -> dict:
    response = await http.get(f"/v1/tickets/{ticket_id}", headers=ADMIN)
    assert response.status_code == 200, response.text
    return response.json()


async def tickets_of(http: httpx.AsyncClient, requester: str) -> list[str]:
    response = await http.get("/v1/tickets", params={"requester": requester}, headers=ADMIN)
    assert response.status_code == 200, response.text
    return [t["id"] for t in response.json()["items"]]


def problem(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return response.json()


# ---------------------------------------------------------------- SendGrid


def sendgrid_form(domain: str, sender: str, subject: str) -> tuple[bytes, dict[str, str]]:
    support = f"help@{domain}"
    headers = (
        f"Received: from mx.customer.example by mx.sendgrid.net with ESMTP id {uuid.uuid4().hex}\n"
        f"From: Kim Lee <{sender}>\nTo: {support}\nSubject: {subject}\n"
        f"Message-ID: <{uuid.uuid4()}@customer.example>\nDate: Tue, 3 Jun 2025 05:42:51 +0100\n"
        "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=abc\n"
    )
    info = {
        "attachment1": {"filename": "invoice.pdf", "name": "invoice.pdf", "type": "application/pdf"},
        "attachment2": {"filename": "screen.png", "name": "screen.png", "type": "image/png", "content-id": "ii_1"},
    }
    return multipart(
        [
            ("headers", headers, None, None),
            ("dkim", "{@customer.example : pass}", None, None),
            ("to", support, None, None),
            ("from", f"Kim Lee <{sender}>", None, None),
            ("subject", subject, None, None),
            ("text", "The invoice total is wrong, see attached.\n", None, None),
            ("html", '<p>The invoice total is wrong, see attached.</p><img src="cid:ii_1">', None, None),
            ("envelope", json.dumps({"to": [support], "from": sender}), None, None),
            ("attachments", "2", None, None),
            ("attachment-info", json.dumps(info), None, None),
            ("content-ids", json.dumps({"ii_1": "attachment2"}), None, None),
            (
                "charsets",
                json.dumps({"to": "UTF-8", "from": "UTF-8", "subject": "UTF-8", "text": "utf-8", "html": "utf-8"}),
                None,
                None,
            ),
            ("SPF", "pass", None, None),
            ("attachment1", PDF, "invoice.pdf", "application/pdf"),
            ("attachment2", PNG, "screen.png", "image/png"),
        ]
    )


async def test_sendgrid_post_opens_a_ticket_and_its_retry_is_a_duplicate(http, domain):
    source = await add_source(http, "sendgrid")
    key = await platform_key(http, source)
    sender = f"{unique('kim')}@customer.example"
    body, headers = sendgrid_form(domain, sender, f"Invoice wrong {uuid.uuid4().hex[:8]}")

    first = await http.post(f"/v1/inbound/email/{source}", content=body, headers={**headers, **basic(key)})
    assert first.status_code == 202, first.text
    assert first.json()["outcome"] == "ticket_opened"
    opened = await ticket(http, first.json()["ticket_id"])
    assert (opened["channel"], opened["brand"], opened["requester"]["email"]) == ("email", "acme", sender)
    assert opened["inbox"] == f"help@{domain}" and "provider" in opened["tags"]
    attachments = opened["messages"][0]["attachments"]
    assert [(a["filename"], a["content_type"], a["size"], a["inline"]) for a in attachments] == [
        ("invoice.pdf", "application/pdf", len(PDF), False),
        ("screen.png", "image/png", len(PNG), True),
    ]

    # SendGrid retries (up to 3 days) with no delivery id: the content hash makes it one mail
    again = await http.post(f"/v1/inbound/email/{source}", content=body, headers={**headers, **basic(key)})
    assert again.status_code == 202, again.text
    assert (again.json()["outcome"], again.json()["ticket_id"]) == ("duplicate", first.json()["ticket_id"])
    assert await tickets_of(http, sender) == [first.json()["ticket_id"]]


async def test_sendgrid_raw_post_with_an_admin_bearer_key(http, domain):
    source = await add_source(http, "sendgrid")
    sender = f"{unique('raw')}@customer.example"
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, f"help@{domain}", f"Raw {uuid.uuid4().hex[:8]}"
    message["Message-ID"] = f"<{uuid.uuid4()}@customer.example>"
    message.set_content("Sent with the Send Raw option on.")
    body, headers = multipart(
        [
            ("email", bytes(message), None, None),
            ("from", sender, None, None),
            ("envelope", json.dumps({"to": [f"help@{domain}"], "from": sender}), None, None),
        ]
    )
    response = await http.post(f"/v1/inbound/email/{source}", content=body, headers={**headers, **ADMIN})
    assert response.status_code == 202, response.text
    assert response.json()["outcome"] == "ticket_opened"


# ---------------------------------------------------------------- Mailgun


def mailgun_fields(
    domain: str, sender: str, subject: str, *, at: int | None = None, token: str | None = None, key: str = MAILGUN_KEY
) -> dict[str, str]:
    at = int(time.time()) if at is None else at
    token = token or secrets.token_hex(25)
    support = f"support@{domain}"
    headers = [
        ["Received", "by mxa.mailgun.org with SMTP"],
        ["From", sender],
        ["To", support],
        ["Subject", subject],
        ["Message-Id", f"<{uuid.uuid4()}@customer.example>"],
        ["Mime-Version", "1.0"],
        ["Content-Type", 'multipart/alternative; boundary="xx"'],
    ]
    return {
        "recipient": support,
        "sender": sender,
        "from": sender,
        "subject": subject,
        "body-plain": "My parcel never arrived.\r\n",
        "stripped-text": "My parcel never arrived.",
        "body-html": "<div>My parcel never arrived.</div>",
        "attachment-count": "0",
        "message-headers": json.dumps(headers),
        "timestamp": str(at),
        "token": token,
        "signature": sign_mailgun(key, at, token),
    }


def urlencoded(fields: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    return urlencode(fields).encode(), {"content-type": "application/x-www-form-urlencoded"}


async def test_mailgun_signed_post_opens_a_ticket_and_a_replayed_token_gets_the_stored_answer(http, domain):
    source = await add_source(http, "mailgun", MAILGUN_KEY)
    sender = f"{unique('pat')}@customer.example"
    body, headers = urlencoded(mailgun_fields(domain, sender, f"Parcel missing {uuid.uuid4().hex[:8]}"))

    first = await http.post(f"/v1/inbound/email/{source}", content=body, headers=headers)
    assert first.status_code == 202, first.text
    assert first.json()["outcome"] == "ticket_opened"
    assert (await ticket(http, first.json()["ticket_id"]))["requester"]["email"] == sender

    replay = await http.post(f"/v1/inbound/email/{source}", content=body, headers=headers)
    assert replay.status_code == 202, replay.text
    assert replay.headers.get("idempotent-replayed") == "true"
    assert replay.json() == first.json()
    assert await tickets_of(http, sender) == [first.json()["ticket_id"]]


async def test_mailgun_bad_or_stale_signatures_are_refused(http, domain):
    source = await add_source(http, "mailgun", MAILGUN_KEY)
    sender = f"{unique('eve')}@customer.example"
    forged = mailgun_fields(domain, sender, "forged", key="not-the-signing-key")
    stale = mailgun_fields(domain, sender, "stale", at=int(time.time()) - 3600)
    for fields, reason in ((forged, "does not match"), (stale, "too old")):
        body, headers = urlencoded(fields)
        answer = problem(await http.post(f"/v1/inbound/email/{source}", content=body, headers=headers), 401)
        assert reason in answer["detail"]
    unsigned = {k: v for k, v in forged.items() if k != "signature"}
    body, headers = urlencoded(unsigned)
    assert (
        "missing Mailgun signature"
        in problem(await http.post(f"/v1/inbound/email/{source}", content=body, headers=headers), 401)["detail"]
    )
    assert await tickets_of(http, sender) == []


async def test_mailgun_mime_route_with_attachments(http, domain):
    source = await add_source(http, "mailgun", MAILGUN_KEY)
    sender = f"{unique('mime')}@customer.example"
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, f"support@{domain}", f"Mime {uuid.uuid4().hex[:8]}"
    message["Message-ID"] = f"<{uuid.uuid4()}@customer.example>"
    message.set_content("Logs attached.")
    message.add_attachment(PDF, "application", "pdf", filename="logs.pdf")
    fields = mailgun_fields(domain, sender, str(message["Subject"]))
    signature = {k: fields[k] for k in ("timestamp", "token", "signature")}
    body, headers = multipart(
        [
            *(
                (k, v, None, None)
                for k, v in {"recipient": f"support@{domain}", "sender": sender, "from": sender, **signature}.items()
            ),
            ("body-mime", bytes(message), None, None),
        ]
    )
    response = await http.post(f"/v1/inbound/email/{source}/mime", content=body, headers=headers)
    assert response.status_code == 202, response.text
    opened = await ticket(http, response.json()["ticket_id"])
    assert [(a["filename"], a["size"]) for a in opened["messages"][0]["attachments"]] == [("logs.pdf", len(PDF))]


# ---------------------------------------------------------------- Postmark


def original_mail(domain: str, sender: str, subject: str, *, in_reply_to: str | None = None) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = f"Noor <{sender}>", f"support@{domain}", subject
    message["Message-ID"] = f"<{uuid.uuid4()}@customer.example>"
    message["Date"] = "Thu, 5 Jun 2025 16:59:01 +0200"
    if in_reply_to:
        message["In-Reply-To"] = message["References"] = in_reply_to
    message.set_content("The app crashes when I open settings.\n")
    return message


def postmark_json(message: EmailMessage, domain: str, **changes: object) -> dict:
    """What Postmark posts for `message` (parsed fields, RawEmail off)."""
    sender = message["From"].addresses[0]
    headers = [{"Name": "X-Spam-Status", "Value": "No"}, {"Name": "MIME-Version", "Value": "1.0"}]
    headers += [
        {"Name": name, "Value": str(message[name])}
        for name in ("Message-ID", "In-Reply-To", "References")
        if message[name]
    ]
    return {
        "FromName": sender.display_name,
        "From": sender.addr_spec,
        "FromFull": {"Email": sender.addr_spec, "Name": sender.display_name, "MailboxHash": ""},
        "To": str(message["To"]),
        "ToFull": [{"Email": str(message["To"]), "Name": "", "MailboxHash": ""}],
        "Cc": "",
        "CcFull": [],
        "Bcc": "",
        "BccFull": [],
        "OriginalRecipient": f"support@{domain}",
        "Subject": str(message["Subject"]),
        "MessageID": str(uuid.uuid4()),
        "ReplyTo": "",
        "MailboxHash": "",
        "Date": str(message["Date"]),
        "TextBody": message.get_content(),
        "HtmlBody": "",
        "StrippedTextReply": "",
        "Tag": "",
        "MessageStream": "inbound",
        "Headers": headers,
        "Attachments": [],
        **changes,
    }


async def test_postmark_and_raw_upload_of_the_same_mail_are_one_ticket_and_replies_thread(http, domain):
    source = await add_source(http, "postmark")
    key = await platform_key(http, source)
    sender = f"{unique('noor')}@customer.example"
    message = original_mail(domain, sender, f"Crash on settings {uuid.uuid4().hex[:8]}")
    shot = base64.b64encode(PNG).decode()
    payload = postmark_json(
        message,
        domain,
        Attachments=[{"Name": "crash.png", "Content": shot, "ContentType": "image/png", "ContentLength": len(PNG)}],
    )

    first = await http.post(f"/v1/inbound/email/{source}", json=payload, headers=basic(key))
    assert first.status_code == 202, first.text
    assert first.json()["outcome"] == "ticket_opened"
    ticket_id = first.json()["ticket_id"]
    opened = await ticket(http, ticket_id)
    assert opened["messages"][0]["email_message_id"] == str(message["Message-ID"]).strip("<>")
    assert [(a["filename"], a["size"]) for a in opened["messages"][0]["attachments"]] == [("crash.png", len(PNG))]

    # the same mail reaching us as a raw upload (e.g. also via SMTP relay): one ticket
    message.add_attachment(PNG, "image", "png", filename="crash.png")
    upload_key = await platform_key(http, unique("upload"))
    raw = await http.post(
        "/v1/inbound/email",
        content=bytes(message),
        headers={"Authorization": f"Bearer {upload_key}", "content-type": "message/rfc822"},
    )
    assert raw.status_code == 202, raw.text
    assert (raw.json()["outcome"], raw.json()["ticket_id"]) == ("duplicate", ticket_id)

    # Postmark's own retry of that delivery (same MessageID) is answered from the log
    retry = await http.post(f"/v1/inbound/email/{source}", json=payload, headers=basic(key))
    assert retry.headers.get("idempotent-replayed") == "true" and retry.json() == first.json()

    # the customer's reply, In-Reply-To kept through the rebuild, lands on the same ticket
    reply = original_mail(domain, sender, f"Re: {message['Subject']}", in_reply_to=str(message["Message-ID"]))
    reply.set_content("It also crashes on the profile page.\n")
    answer = await http.post(f"/v1/inbound/email/{source}", json=postmark_json(reply, domain), headers=basic(key))
    assert answer.status_code == 202, answer.text
    assert (answer.json()["outcome"], answer.json()["ticket_id"]) == ("message_added", ticket_id)
    assert await tickets_of(http, sender) == [ticket_id]


async def test_postmark_auto_reply_is_recorded_not_ticketed(http, domain):
    source = await add_source(http, "postmark")
    key = await platform_key(http, source)
    sender = f"{unique('ooo')}@customer.example"
    payload = postmark_json(original_mail(domain, sender, f"Out of office {uuid.uuid4().hex[:8]}"), domain)
    payload["Headers"].append({"Name": "Auto-Submitted", "Value": "auto-replied"})
    response = await http.post(f"/v1/inbound/email/{source}", json=payload, headers=basic(key))
    assert response.status_code == 202, response.text
    assert (response.json()["outcome"], response.json()["reason"]) == ("automated", "auto_submitted:auto-replied")


# ---------------------------------------------------------------- refusals


async def test_keys_sources_size_and_malformed_payloads(http, domain):
    postmark = await add_source(http, "postmark")
    sendgrid = await add_source(http, "sendgrid")
    other_key = await platform_key(http, sendgrid)
    payload = postmark_json(original_mail(domain, f"{unique('x')}@customer.example", "refused"), domain)

    problem(await http.post(f"/v1/inbound/email/{postmark}", json=payload), 401)
    problem(await http.post(f"/v1/inbound/email/{postmark}", json=payload, headers=basic("sb_platform_made-up")), 401)
    forbidden = problem(await http.post(f"/v1/inbound/email/{postmark}", json=payload, headers=basic(other_key)), 403)
    assert postmark in forbidden["detail"]

    problem(await http.post(f"/v1/inbound/email/{unique('nope')}", json=payload, headers=ADMIN), 404)
    generic = unique("generic")
    await http.put(
        f"/v1/admin/webhook-sources/{generic}", json={"kind": "generic", "secrets": ["s3cret"]}, headers=ADMIN
    )
    problem(await http.post(f"/v1/inbound/email/{generic}", json=payload, headers=ADMIN), 404)
    # and an email source is not a JSON webhook source
    problem(await http.post(f"/v1/webhooks/{postmark}", json=payload, headers=ADMIN), 404)

    big = postmark_json(original_mail(domain, "big@customer.example", "big"), domain, TextBody="x" * MAX_EMAIL_BYTES)
    problem(await http.post(f"/v1/inbound/email/{postmark}", json=big, headers=ADMIN), 413)

    no_sender = {k: v for k, v in payload.items() if k not in ("FromFull", "From")}
    answer = problem(await http.post(f"/v1/inbound/email/{postmark}", json=no_sender, headers=ADMIN), 422)
    assert answer["errors"][0]["field"] == "FromFull"
    answer = problem(
        await http.post(
            f"/v1/inbound/email/{postmark}", content=b"{not json", headers={**ADMIN, "content-type": "application/json"}
        ),
        422,
    )
    assert answer["detail"].startswith("$: is not valid JSON") and "line 1, column 2" in answer["detail"]
    answer = problem(
        await http.post(f"/v1/inbound/email/{sendgrid}", json={"from": "a@b.example"}, headers=basic(other_key)), 422
    )
    assert answer["errors"][0]["field"] == "body"
    body, headers = multipart([("envelope", "{broken", None, None), ("from", "a@b.example", None, None)])
    answer = problem(
        await http.post(f"/v1/inbound/email/{sendgrid}", content=body, headers={**headers, **basic(other_key)}), 422
    )
    assert answer["errors"] == [{"field": "envelope", "message": answer["detail"].partition(": ")[2]}]


# ---------------------------------------------------------------- no input gets a 500

FIELDS = [
    "headers",
    "from",
    "to",
    "subject",
    "text",
    "html",
    "envelope",
    "charsets",
    "attachment-info",
    "email",
    "attachment1",
    "message-headers",
    "recipient",
    "sender",
    "body-plain",
    "body-mime",
    "attachment-1",
    "content-id-map",
    "timestamp",
    "token",
    "signature",
]


def examples(strategy: st.SearchStrategy[Any], count: int) -> list[Any]:
    found: list[Any] = []

    @settings(max_examples=count, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(strategy)
    def collect(value: Any) -> None:
        found.append(value)

    collect()
    return found


async def test_random_provider_posts_never_get_a_500(http, domain):
    text = st.text(max_size=30) | st.sampled_from([f"a@{domain}", "{}", "[]", '{"to": [1]}', "\udc80", "x\r\ny"])
    json_values = st.recursive(
        st.none() | st.booleans() | st.integers() | text,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=4),
        max_leaves=10,
    )
    forms = st.lists(
        st.tuples(st.sampled_from(FIELDS), text | st.binary(max_size=30), st.none() | text, st.none()), max_size=6
    )
    bodies = [(json.dumps(v).encode(), {"content-type": "application/json"}) for v in examples(json_values, 40)]
    bodies += [
        multipart([(n, v.encode("utf-8", "replace") if isinstance(v, str) else v, f, c) for n, v, f, c in parts])
        for parts in examples(forms, 40)
    ]
    bodies += [
        (b"", {}),
        (b"{", {"content-type": "application/json"}),
        (b"[" * 100_000, {"content-type": "application/json"}),
        (b"--x\r\n", {"content-type": "multipart/form-data; boundary=x"}),
        (b"a=%ff&b", {"content-type": "application/x-www-form-urlencoded"}),
    ]
    sources = [await add_source(http, kind, MAILGUN_KEY) for kind in ("sendgrid", "mailgun", "postmark")]
    for source in sources:
        for body, headers in bodies:
            response = await http.post(f"/v1/inbound/email/{source}", content=body, headers={**headers, **ADMIN})
            deliberate = 200 <= response.status_code < 300 or (
                400 <= response.status_code < 500 and response.headers["content-type"] == "application/problem+json"
            )
            assert deliberate, (source, body[:200], response.status_code, response.text[:300])
