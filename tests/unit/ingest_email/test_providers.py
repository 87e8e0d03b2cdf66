"""SendGrid, Mailgun and Postmark inbound payloads to RFC 5322 bytes, read back by parse_email.

The payloads follow each provider's documented shape (field names, JSON encodings,
multipart layout), written here by hand:

* SendGrid Inbound Parse webhook (twilio.com/docs/sendgrid/for-developers/parsing-email):
  multipart/form-data (SendGrid uses the boundary ``xYzZY``) with `headers`, `from`, `to`,
  `cc`, `subject`, `text`, `html`, `charsets`, `envelope`, `attachments`,
  `attachment-info`, `content-ids`, `dkim`, `SPF`, `sender_ip`, `spam_score` and the files
  `attachment1..N`; with "Send Raw" on, `email` holds the whole message instead.
* Mailgun routes, forward() to a URL (documentation.mailgun.com, "Receiving Messages via
  HTTP"): urlencoded, or multipart when there are attachments; `recipient`, `sender`,
  `from`, `subject`, `body-plain`, `stripped-text`, `body-html`, `message-headers` (JSON
  list of [name, value]), `attachment-count`, `content-id-map`, `attachment-1..N`,
  `timestamp`/`token`/`signature`; a URL ending in "mime" gets `body-mime` instead.
* Postmark inbound webhook (postmarkapp.com/developer/webhooks/inbound-webhook): JSON
  with `FromFull`, `ToFull`, `CcFull`, `OriginalRecipient`, `Subject`, `MessageID`,
  `Date`, `TextBody`, `HtmlBody`, `StrippedTextReply`, `Headers` [{Name, Value}],
  `Attachments` [{Name, Content, ContentType, ContentLength, ContentID}] and, with the
  "include raw email content" option, `RawEmail`.
"""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.requests import Request

from services.ingest.email import EmailParseError, automated_reason, parse_email
from services.ingest.email.providers import (
    FormData,
    FormPart,
    ProviderMail,
    ProviderPayloadError,
    from_mailgun,
    from_postmark,
    from_sendgrid,
    parse_form,
)
from shared.auth.web import presented_key

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
PDF = b"%PDF-1.4\n" + b"0123456789" * 300 + b"\n%%EOF\n"


def multipart(
    parts: list[tuple[str, bytes | str, str | None, str | None]], boundary: str = "xYzZY"
) -> tuple[bytes, str]:
    """A multipart/form-data body as SendGrid and Mailgun post it: (name, value, filename, content type)."""
    out = b""
    for name, value, filename, content_type in parts:
        data = value.encode("utf-8") if isinstance(value, str) else value
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        out += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n".encode()
        if content_type:
            out += f"Content-Type: {content_type}\r\n".encode()
        out += b"\r\n" + data + b"\r\n"
    return out + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


# ---------------------------------------------------------------- SendGrid

SENDGRID_HEADERS = (
    "Received: from mail-wm1-f42.google.com (mail-wm1-f42.google.com [209.85.128.42]) by mx.sendgrid.net with ESMTP "
    "id na9XiRFCTw2Tap3 for <help@support.acme.example>; Tue, 03 Jun 2025 04:43:24.518 +0000 (UTC)\n"
    "Content-Transfer-Encoding: quoted-printable\n"
    "Content-Type: text/plain; charset=iso-8859-1\n"
    "Date: Tue, 3 Jun 2025 05:42:51 +0100\n"
    "From: =?utf-8?q?J=C3=BCrgen_M=C3=BCller?= <juergen@example.de>\n"
    "Message-Id: <256304D3-3BE0-4EC0-91A0-EF12F7C3463C@example.de>\n"
    "In-Reply-To: <ticket-4711@switchboard.local>\n"
    "References: <first@example.de>\n"
    " <ticket-4711@switchboard.local>\n"
    "Mime-Version: 1.0 (Mac OS X Mail 16.0)\n"
    "Subject: =?utf-8?q?Re=3A_Rechnung_f=C3=BCr_Juni?=\n"
    "To: Acme Support <help@support.acme.example>\n"
    "Cc: buchhaltung@example.de\n"
    "X-Mailer: Apple Mail (2.3774.300.61.1.2)\n"
)


def sendgrid_parsed(*, headers: str = SENDGRID_HEADERS, extra: list | None = None) -> list:
    text = "Hallo,\n\ndie Rechnung für Juni fehlt noch.\n\nGrüße\nJürgen\n".encode("iso-8859-1")
    html = '<p>Hallo,</p><p>die Rechnung f&uuml;r Juni fehlt noch.</p><img src="cid:ii_mb3k1"><p>Gr&uuml;&szlig;e</p>'
    info = {
        "attachment1": {"filename": "Rechnung Mai.pdf", "name": "Rechnung Mai.pdf", "type": "application/pdf"},
        "attachment2": {"filename": "logo.png", "name": "logo.png", "type": "image/png", "content-id": "ii_mb3k1"},
    }
    return [
        ("headers", headers, None, None),
        ("dkim", "{@example.de : pass}", None, None),
        ("content-ids", json.dumps({"ii_mb3k1": "attachment2"}), None, None),
        ("to", "Acme Support <help@support.acme.example>", None, None),
        ("cc", "buchhaltung@example.de", None, None),
        ("html", html, None, None),
        ("from", "Jürgen Müller <juergen@example.de>", None, None),
        ("text", text, None, None),
        ("sender_ip", "209.85.128.42", None, None),
        ("envelope", json.dumps({"to": ["help@support.acme.example"], "from": "juergen@example.de"}), None, None),
        ("attachments", "2", None, None),
        ("subject", "Re: Rechnung für Juni", None, None),
        ("attachment-info", json.dumps(info), None, None),
        (
            "charsets",
            json.dumps(
                {
                    "to": "UTF-8",
                    "cc": "UTF-8",
                    "html": "UTF-8",
                    "subject": "UTF-8",
                    "from": "UTF-8",
                    "text": "iso-8859-1",
                }
            ),
            None,
            None,
        ),
        ("SPF", "pass", None, None),
        ("attachment1", PDF, "Rechnung Mai.pdf", "application/pdf"),
        ("attachment2", PNG, "logo.png", "image/png"),
        *(extra or []),
    ]


def test_sendgrid_parsed_post_is_rebuilt_with_threading_headers_charsets_and_attachments() -> None:
    body, content_type = multipart(sendgrid_parsed())
    raw, delivery_id, envelope = from_sendgrid(parse_form(body, content_type))

    assert delivery_id is None  # SendGrid sends none: the content hash catches its retries
    assert envelope == ("help@support.acme.example",)
    mail = parse_email(raw)
    assert mail.message_id == "256304D3-3BE0-4EC0-91A0-EF12F7C3463C@example.de"
    assert mail.in_reply_to == ("ticket-4711@switchboard.local",)
    assert mail.references == ("first@example.de", "ticket-4711@switchboard.local")
    assert mail.subject == "Re: Rechnung für Juni"
    assert (mail.from_name, mail.from_address) == ("Jürgen Müller", "juergen@example.de")
    assert mail.to == ("help@support.acme.example",) and mail.cc == ("buchhaltung@example.de",)
    assert "die Rechnung für Juni fehlt noch." in mail.text  # latin-1 bytes, as `charsets` said
    assert mail.html and "cid:ii_mb3k1" in mail.html
    assert [(a.filename, a.content_type, a.size, a.inline) for a in mail.attachments] == [
        ("Rechnung Mai.pdf", "application/pdf", len(PDF), False),
        ("logo.png", "image/png", len(PNG), True),
    ]
    assert mail.attachments[1].content_id == "ii_mb3k1"
    assert mail.headers["return-path"] == "<juergen@example.de>"  # from the envelope
    assert automated_reason(mail) is None
    # the original body headers describe a body that was re-encoded: they must be gone
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert b"quoted-printable" not in head and b"iso-8859-1" not in head


def test_sendgrid_raw_option_passes_the_message_through_untouched() -> None:
    original = (
        b"From: Ann <ann@example.com>\r\nTo: help@support.acme.example\r\nSubject: Printer on fire\r\n"
        b"Message-ID: <raw-1@example.com>\r\nContent-Type: text/plain; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\nIt is on fire. \xe2\x80\x94 Ann\r\n"
    )
    body, content_type = multipart(
        [
            ("dkim", "{@example.com : pass}", None, None),
            ("email", original, None, None),
            ("to", "help@support.acme.example", None, None),
            ("from", "Ann <ann@example.com>", None, None),
            ("subject", "Printer on fire", None, None),
            (
                "envelope",
                json.dumps(
                    {"to": ["help@support.acme.example", "sales@support.acme.example"], "from": "ann@example.com"}
                ),
                None,
                None,
            ),
            ("charsets", json.dumps({"to": "UTF-8", "from": "UTF-8", "subject": "UTF-8"}), None, None),
            ("SPF", "pass", None, None),
        ]
    )
    raw, delivery_id, envelope = from_sendgrid(parse_form(body, content_type))
    assert raw == original
    assert delivery_id is None
    assert envelope == ("help@support.acme.example", "sales@support.acme.example")


def test_sendgrid_auto_reply_headers_survive_the_rebuild() -> None:
    headers = SENDGRID_HEADERS + "Auto-Submitted: auto-replied\nX-Autoreply: yes\n"
    body, content_type = multipart(sendgrid_parsed(headers=headers))
    mail = parse_email(from_sendgrid(parse_form(body, content_type)).raw)
    assert automated_reason(mail) == "auto_submitted:auto-replied"


def test_sendgrid_headers_block_with_utf8_values_and_unknown_charset() -> None:
    # SendGrid converts header values to UTF-8; an unknown charset label still decodes
    headers = "From: Zoë <zoe@example.com>\nSubject: Grüße aus Köln\nMessage-ID: <utf8@example.com>\n"
    form = FormData.of(
        {
            "headers": headers,
            "text": "Ünïcode body",
            "charsets": json.dumps({"text": "x-unknown"}),
            "envelope": json.dumps({"to": ["help@support.acme.example"], "from": "zoe@example.com"}),
        }
    )
    mail = parse_email(from_sendgrid(form).raw)
    assert (mail.from_name, mail.from_address, mail.subject) == ("Zoë", "zoe@example.com", "Grüße aus Köln")
    assert mail.message_id == "utf8@example.com"
    assert mail.text == "Ünïcode body"


def test_sendgrid_prefers_the_header_block_over_decoded_fields_and_fills_gaps_from_them() -> None:
    # the decoded `from` field is ambiguous ("Müller, Jürgen" reads as two addresses); the block is not
    headers = 'From: "=?utf-8?q?M=C3=BCller=2C_J=C3=BCrgen?=" <j@example.de>\nMessage-ID: <gap@example.de>\n'
    form = FormData.of(
        {
            "headers": headers,
            "from": "Müller, Jürgen <j@example.de>",
            "to": "help@support.acme.example",
            "subject": "Lieferung",
            "text": "Wo bleibt sie?",
        }
    )
    mail = parse_email(from_sendgrid(form).raw)
    assert (mail.from_name, mail.from_address) == ("Müller, Jürgen", "j@example.de")
    assert (mail.to, mail.subject, mail.message_id) == (("help@support.acme.example",), "Lieferung", "gap@example.de")


def test_sendgrid_without_raw_or_sender_names_the_field() -> None:
    with pytest.raises(ProviderPayloadError) as error:
        from_sendgrid(FormData.of({"subject": "hello", "text": "hi"}))
    assert error.value.field == "from"


def test_sendgrid_malformed_envelope_is_refused() -> None:
    with pytest.raises(ProviderPayloadError) as error:
        from_sendgrid(FormData.of({"from": "a@example.com", "envelope": "{to: nope"}))
    assert error.value.field == "envelope"


# ---------------------------------------------------------------- Mailgun

MAILGUN_SIGNATURE = {
    "timestamp": "1717400000",
    "token": "5b0a4f1c2e9d8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a",
    "signature": "0" * 64,
}


def mailgun_fields(extra_headers: list[list[str]] | None = None) -> dict[str, str]:
    headers = [
        ["X-Envelope-From", "<bob@example.org>"],
        ["Received", "from mail.example.org by mxa.mailgun.org with ESMTP id 665e2f; Mon, 03 Jun 2024 07:33:20 -0000"],
        ["Mime-Version", "1.0"],
        ["Content-Type", 'multipart/alternative; boundary="0000000000003d6c47061a0c"'],
        ["From", "Bob Builder <bob@example.org>"],
        ["Date", "Mon, 3 Jun 2024 09:33:10 +0200"],
        ["Message-Id", "<CAH+mGk4=2x@mail.example.org>"],
        ["In-Reply-To", "<SB-1042.7f3a@switchboard.local>"],
        ["References", "<SB-1042.7f3a@switchboard.local>"],
        ["Subject", "Re: [SB-1042] Login fails"],
        ["To", "Acme Help <help@mg.acme.example>"],
        *(extra_headers or []),
    ]
    return {
        "recipient": "help@mg.acme.example",
        "sender": "bob@example.org",
        "from": "Bob Builder <bob@example.org>",
        "subject": "Re: [SB-1042] Login fails",
        "body-plain": "Still failing after the reset.\r\n\r\nOn Mon, Acme wrote:\r\n> Please reset it.\r\n",
        "stripped-text": "Still failing after the reset.",
        "stripped-signature": "",
        "body-html": "<div>Still failing after the reset.</div><blockquote>Please reset it.</blockquote>",
        "stripped-html": "<div>Still failing after the reset.</div>",
        "attachment-count": "0",
        "message-headers": json.dumps(headers),
        **MAILGUN_SIGNATURE,
    }


def test_mailgun_urlencoded_post_keeps_the_reply_threading_and_uses_the_token() -> None:
    body = urlencode(mailgun_fields()).encode()
    raw, delivery_id, envelope = from_mailgun(parse_form(body, "application/x-www-form-urlencoded"))
    assert delivery_id == MAILGUN_SIGNATURE["token"]
    assert envelope == ("help@mg.acme.example",)
    mail = parse_email(raw)
    assert mail.message_id == "CAH+mGk4=2x@mail.example.org"
    assert mail.in_reply_to == ("SB-1042.7f3a@switchboard.local",)
    assert mail.references == ("SB-1042.7f3a@switchboard.local",)
    assert mail.subject == "Re: [SB-1042] Login fails"
    assert mail.reply_text == "Still failing after the reset."
    assert mail.html and "<blockquote>" in mail.html
    assert mail.content_type == "multipart/alternative"  # ours, not the boundary Mailgun listed
    assert mail.headers["return-path"] == "<bob@example.org>"
    assert automated_reason(mail) is None


def test_mailgun_multipart_post_records_attachments_and_inline_images() -> None:
    fields = mailgun_fields()
    fields["attachment-count"] = "2"
    fields["body-html"] = '<div>See the screenshot <img src="cid:ii_lx1"></div>'
    fields["content-id-map"] = json.dumps({"<ii_lx1>": "attachment-2"})
    body, content_type = multipart(
        [
            *((k, v, None, None) for k, v in fields.items()),
            ("attachment-1", PDF, "error log.pdf", "application/pdf"),
            ("attachment-2", PNG, "screenshot.png", "image/png"),
        ],
        boundary="7d1f2e3c4b5a69788796a5b4c3d2e1f0",
    )
    mail = parse_email(from_mailgun(parse_form(body, content_type)).raw)
    assert [(a.filename, a.content_type, a.size, a.inline, a.content_id) for a in mail.attachments] == [
        ("error log.pdf", "application/pdf", len(PDF), False, None),
        ("screenshot.png", "image/png", len(PNG), True, "ii_lx1"),
    ]


def test_mailgun_mime_route_passes_body_mime_through() -> None:
    original = (
        b"Return-Path: <bob@example.org>\r\nFrom: bob@example.org\r\nTo: help@mg.acme.example\r\n"
        b"Subject: raw\r\nMessage-Id: <raw@example.org>\r\n\r\nbody\r\n"
    )
    fields = {
        "recipient": "help@mg.acme.example, billing@mg.acme.example",
        "sender": "bob@example.org",
        "from": "bob@example.org",
        "subject": "raw",
        **MAILGUN_SIGNATURE,
    }
    body, content_type = multipart(
        [*((k, v, None, None) for k, v in fields.items()), ("body-mime", original, None, None)]
    )
    raw, delivery_id, envelope = from_mailgun(parse_form(body, content_type))
    assert raw == original
    assert delivery_id == MAILGUN_SIGNATURE["token"]
    assert envelope == ("help@mg.acme.example", "billing@mg.acme.example")


def test_mailgun_out_of_office_is_still_recognised() -> None:
    fields = mailgun_fields([["Auto-Submitted", "auto-replied"], ["X-Auto-Response-Suppress", "All"]])
    mail = parse_email(from_mailgun(FormData.of(fields)).raw)
    assert automated_reason(mail) == "auto_submitted:auto-replied"


def test_mailgun_broken_message_headers_and_missing_sender() -> None:
    with pytest.raises(ProviderPayloadError) as error:
        from_mailgun(FormData.of({**mailgun_fields(), "message-headers": json.dumps([["From"]])}))
    assert error.value.field == "message-headers"
    with pytest.raises(ProviderPayloadError) as error:
        from_mailgun(FormData.of({"recipient": "help@mg.acme.example", "body-plain": "hi", **MAILGUN_SIGNATURE}))
    assert error.value.field == "from"


# ---------------------------------------------------------------- Postmark


def postmark_payload(**changes: object) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "FromName": "Åsa Lind",
        "MessageStream": "inbound",
        "From": "asa@example.se",
        "FromFull": {"Email": "asa@example.se", "Name": "Åsa Lind", "MailboxHash": ""},
        "To": '"Acme Support" <support@inbound.acme.example>',
        "ToFull": [{"Email": "support@inbound.acme.example", "Name": "Acme Support", "MailboxHash": ""}],
        "Cc": '"Per" <per@example.se>',
        "CcFull": [{"Email": "per@example.se", "Name": "Per", "MailboxHash": ""}],
        "Bcc": "",
        "BccFull": [],
        "OriginalRecipient": "support@inbound.acme.example",
        "Subject": "Re: Order #5521 arrived broken",
        "MessageID": "22c74902-a0c1-4511-804f-341342852c90",
        "ReplyTo": "asa@example.se",
        "MailboxHash": "",
        "Date": "Thu, 5 Apr 2012 16:59:01 +0200",
        "TextBody": "The lid was cracked, photo attached.\n\nÅsa",
        "HtmlBody": '<p>The lid was cracked, photo attached.</p><img src="cid:photo1@01D4"><p>Åsa</p>',
        "StrippedTextReply": "The lid was cracked, photo attached.",
        "Tag": "",
        "Headers": [
            {
                "Name": "X-Spam-Checker-Version",
                "Value": "SpamAssassin 3.3.1 (2010-03-16) onrs-ord-pm-inbound1.wildbit.com",
            },
            {"Name": "X-Spam-Status", "Value": "No"},
            {"Name": "X-Spam-Score", "Value": "-0.1"},
            {"Name": "X-Spam-Tests", "Value": "DKIM_SIGNED,DKIM_VALID,DKIM_VALID_AU,SPF_PASS"},
            {
                "Name": "Received-SPF",
                "Value": "Pass (sender SPF authorized) identity=mailfrom; client-ip=209.85.160.180",
            },
            {"Name": "MIME-Version", "Value": "1.0"},
            {"Name": "Message-ID", "Value": "<CAGXpo2WKfxHWZ5UFYCR3H_J9SNMG+5AXUovfEFL6DjWBJSyZaA@mail.example.se>"},
            {"Name": "In-Reply-To", "Value": "<SB-2001.aa11@switchboard.local>"},
            {"Name": "References", "Value": "<SB-2001.aa11@switchboard.local>"},
        ],
        "Attachments": [
            {
                "Name": "lid.jpg",
                "Content": base64.b64encode(PNG).decode(),
                "ContentType": "image/jpeg",
                "ContentLength": len(PNG),
                "ContentID": "photo1@01D4",
            },
            {
                "Name": "receipt.pdf",
                "Content": base64.b64encode(PDF).decode(),
                "ContentType": "application/pdf",
                "ContentLength": len(PDF),
            },
        ],
    }
    payload.update(changes)
    return payload


def test_postmark_json_is_rebuilt_with_threading_headers_and_attachments() -> None:
    raw, delivery_id, envelope = from_postmark(postmark_payload())
    assert delivery_id == "22c74902-a0c1-4511-804f-341342852c90"
    assert envelope == ("support@inbound.acme.example",)
    mail = parse_email(raw)
    assert mail.message_id == "CAGXpo2WKfxHWZ5UFYCR3H_J9SNMG+5AXUovfEFL6DjWBJSyZaA@mail.example.se"
    assert mail.in_reply_to == mail.references == ("SB-2001.aa11@switchboard.local",)
    assert (mail.from_name, mail.from_address) == ("Åsa Lind", "asa@example.se")
    assert mail.to == ("support@inbound.acme.example",) and mail.cc == ("per@example.se",)
    assert mail.reply_to == ("asa@example.se",)
    assert mail.subject == "Re: Order #5521 arrived broken"
    assert mail.date is not None and mail.date.isoformat() == "2012-04-05T16:59:01+02:00"
    assert mail.text == "The lid was cracked, photo attached.\n\nÅsa"
    assert [(a.filename, a.content_type, a.size, a.inline) for a in mail.attachments] == [
        ("lid.jpg", "image/jpeg", len(PNG), True),
        ("receipt.pdf", "application/pdf", len(PDF), False),
    ]
    assert raw.isascii()  # non-ASCII names are RFC 2047/2231-encoded, the body 7-bit or 8-bit clean
    assert automated_reason(mail) is None


def test_postmark_raw_email_is_used_as_is() -> None:
    original = "From: asa@example.se\r\nTo: support@inbound.acme.example\r\nSubject: Hej\r\n\r\nHej då\r\n"
    raw, delivery_id, _ = from_postmark(postmark_payload(RawEmail=original))
    assert raw == original.encode("utf-8")
    assert delivery_id == "22c74902-a0c1-4511-804f-341342852c90"


def test_postmark_vacation_reply_is_still_automated() -> None:
    payload = postmark_payload()
    payload["Headers"] = [
        *payload["Headers"],
        {"Name": "Auto-Submitted", "Value": "auto-replied (vacation)"},
        {"Name": "Precedence", "Value": "auto_reply"},
    ]
    assert automated_reason(parse_email(from_postmark(payload).raw)) == "auto_submitted:auto-replied"


def test_postmark_header_values_cannot_inject_headers() -> None:
    payload = postmark_payload(Subject="Hello\r\nBcc: victim@example.com")
    payload["Headers"] = [{"Name": "X-Note", "Value": "a\nTo: evil@example.com"}, {"Name": "Bad Name", "Value": "x"}]
    mail = parse_email(from_postmark(payload).raw)
    assert mail.to == ("support@inbound.acme.example",)
    assert mail.subject == "Hello Bcc: victim@example.com"


def test_postmark_payload_errors_name_the_field() -> None:
    with pytest.raises(ProviderPayloadError) as error:
        from_postmark(postmark_payload(FromFull=None, From=None))
    assert error.value.field == "FromFull"
    broken = postmark_payload()
    broken["Attachments"][1]["Content"] = "not base64!"
    with pytest.raises(ProviderPayloadError) as error:
        from_postmark(broken)
    assert error.value.field == "Attachments[1].Content"
    with pytest.raises(ProviderPayloadError) as error:
        not_an_object: Any = []
        from_postmark(not_an_object)
    assert error.value.field == "body"


def test_postmark_rebuild_has_the_same_content_hash_as_the_original_mail() -> None:
    """The same mail by SMTP/raw upload and by Postmark's parsed JSON is one mail downstream."""
    original = (
        b"From: =?utf-8?q?=C3=85sa_Lind?= <asa@example.se>\r\nTo: support@inbound.acme.example\r\n"
        b"Subject: Order #5521 arrived broken\r\nMessage-ID: <orig-5521@example.se>\r\n"
        b"Date: Thu, 5 Apr 2012 16:59:01 +0200\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
        b"The lid was cracked.=0D=0A=0D=0A=C3=85sa\r\n"
    )
    payload = postmark_payload(
        Subject="Order #5521 arrived broken",
        TextBody="The lid was cracked.\r\n\r\nÅsa",
        HtmlBody="",
        Attachments=[],
        CcFull=[],
        Cc="",
        Headers=[{"Name": "Message-ID", "Value": "<orig-5521@example.se>"}],
    )
    assert parse_email(from_postmark(payload).raw).content_hash == parse_email(original).content_hash


# ---------------------------------------------------------------- forms and keys


def test_parse_form_refuses_what_is_not_a_form() -> None:
    body, content_type = multipart([("from", "a@example.com", None, None)])
    with pytest.raises(ProviderPayloadError, match="truncated"):
        parse_form(body[:-12], content_type)
    with pytest.raises(ProviderPayloadError, match="multipart/form-data or"):
        parse_form(b"{}", "application/json")
    with pytest.raises(ProviderPayloadError, match="boundary"):
        parse_form(body, "multipart/form-data")


def test_parse_form_keeps_bytes_file_names_and_repeated_fields() -> None:
    body, content_type = multipart(
        [
            ("body-html", "<p>1</p>", None, None),
            ("body-html", "<p>2</p>", None, None),
            ("attachment-1", b"\x00\xff\r\n", "a b.bin", "application/octet-stream"),
        ]
    )
    form = parse_form(body, content_type)
    assert [p.data for p in form.all("body-html")] == [b"<p>1</p>", b"<p>2</p>"]
    assert form.files() == [FormPart("attachment-1", b"\x00\xff\r\n", "a b.bin", "application/octet-stream")]


def _request(authorization: str) -> Request:
    return Request(
        {"type": "http", "method": "POST", "path": "/", "headers": [(b"authorization", authorization.encode())]}
    )


def test_presented_key_accepts_basic_auth_with_the_key_as_password() -> None:
    def basic(credentials: str) -> str:
        return "Basic " + base64.b64encode(credentials.encode()).decode()

    assert presented_key(_request(basic("sendgrid:sb_platform_secret"))) == "sb_platform_secret"
    assert presented_key(_request(basic("sb_platform_secret:"))) == "sb_platform_secret"  # https://KEY@host/
    assert presented_key(_request("Basic !!!")) is None
    assert presented_key(_request("Bearer abc")) == "abc"


# ---------------------------------------------------------------- anything else: a refusal, never a crash

TEXT = st.text(max_size=40) | st.sampled_from(["", " ", "\udc80", "a\r\nBcc: x@y", "<a b>", "ü@ö", "=?utf-8?q?x?="])
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)
POSTMARK_KEYS = [
    "FromFull",
    "From",
    "ToFull",
    "To",
    "CcFull",
    "Cc",
    "Subject",
    "Date",
    "ReplyTo",
    "TextBody",
    "HtmlBody",
    "Headers",
    "Attachments",
    "OriginalRecipient",
    "MessageID",
    "RawEmail",
]
ADDRESS = st.fixed_dictionaries({"Email": TEXT, "Name": TEXT})
POSTMARK = (
    st.fixed_dictionaries(
        {"FromFull": ADDRESS},
        optional={
            "ToFull": st.lists(ADDRESS | JSON, max_size=2),
            "Subject": TEXT,
            "TextBody": TEXT,
            "HtmlBody": TEXT,
            "Date": TEXT,
            "Headers": st.lists(st.fixed_dictionaries({"Name": TEXT, "Value": TEXT}) | JSON, max_size=3),
            "Attachments": st.lists(
                st.fixed_dictionaries(
                    {
                        "Name": TEXT | JSON,
                        "ContentType": TEXT | JSON,
                        "ContentID": TEXT | JSON,
                        "Content": st.sampled_from(["", "aGk=", "!!"]) | JSON,
                    }
                ),
                max_size=2,
            ),
            "MessageID": JSON,
            "OriginalRecipient": JSON,
        },
    )
    | st.dictionaries(st.sampled_from(POSTMARK_KEYS), JSON, max_size=6)
    | JSON
)
FORM_KEYS = [
    "headers",
    "from",
    "to",
    "cc",
    "subject",
    "text",
    "html",
    "charsets",
    "envelope",
    "attachment-info",
    "content-ids",
    "attachment1",
    "email",
    "message-headers",
    "sender",
    "recipient",
    "body-plain",
    "body-html",
    "content-id-map",
    "attachment-1",
    "body-mime",
    "token",
]
FORM_VALUE = TEXT | JSON.map(json.dumps) | st.binary(max_size=40)
FORM = st.lists(st.tuples(st.sampled_from(FORM_KEYS), FORM_VALUE, st.none() | TEXT, st.none() | TEXT), max_size=8)


def _outcome(convert: Callable[[Any], ProviderMail], payload: Any) -> None:
    try:
        mail = convert(payload)
    except ProviderPayloadError as error:
        assert error.field
        return
    with contextlib.suppress(EmailParseError):
        parse_email(mail.raw)


@settings(max_examples=300, database=None, deadline=None, suppress_health_check=list(HealthCheck))
@given(POSTMARK)
def test_any_postmark_json_is_converted_or_refused_with_a_field(payload: Any) -> None:
    _outcome(from_postmark, payload)


@settings(max_examples=300, database=None, deadline=None, suppress_health_check=list(HealthCheck))
@given(FORM)
def test_any_form_is_converted_or_refused_with_a_field(
    parts: list[tuple[str, str | bytes, str | None, str | None]],
) -> None:
    form = FormData(
        tuple(
            FormPart(
                name,
                value.encode("utf-8", "surrogatepass") if isinstance(value, str) else value,
                filename,
                content_type,
            )
            for name, value, filename, content_type in parts
        )
    )
    _outcome(from_sendgrid, form)
    _outcome(from_mailgun, form)
