"""content_hash: the same mail by two routes hashes the same; a different mail does not."""

from __future__ import annotations

import base64
import re

from services.ingest.email import parse_email

from .corpus import read

ORIGINAL = read("chatwoot/support.eml")


def _via_other_route(raw: bytes) -> bytes:
    """What a provider webhook hands us for the same mail: its own Received trail, a
    re-minted Message-ID and CRLF line ends."""
    raw = re.sub(rb"(?im)^Message-Id:.*$", b"Message-ID: <webhook-0001@provider.example>", raw, count=1)
    trail = b"Received: from provider.example by hooks.example.org; Tue, 7 May 2024 08:45:46 +0000\n" * 3
    return (trail + raw).replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def test_same_mail_two_routes_same_hash() -> None:
    first, second = parse_email(ORIGINAL), parse_email(_via_other_route(ORIGINAL))
    assert first.message_id != second.message_id
    assert first.content_hash == second.content_hash


def test_transfer_encoding_does_not_change_the_hash() -> None:
    head = (
        b"From: Jane <jane@example.com>\nSubject: Printer\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
    )
    text = "Grüße,\nthe printer is broken.\n".encode()
    eight_bit = parse_email(head + b"Content-Transfer-Encoding: 8bit\n\n" + text)
    b64 = parse_email(head + b"Content-Transfer-Encoding: base64\n\n" + base64.encodebytes(text))
    assert eight_bit.content_hash == b64.content_hash


def test_sender_address_case_does_not_change_the_hash() -> None:
    lower = parse_email(b"From: jane@example.com\nSubject: s\n\nbody")
    upper = parse_email(b"From: Jane Doe <JANE@Example.com>\nSubject: s\n\nbody")
    assert lower.content_hash == upper.content_hash


def test_different_body_different_hash() -> None:
    changed = ORIGINAL.replace(b"Let's talk about", b"Let us talk about", 1)
    assert changed != ORIGINAL
    assert parse_email(changed).content_hash != parse_email(ORIGINAL).content_hash


def test_different_sender_or_subject_different_hash() -> None:
    base = parse_email(b"From: jane@example.com\nSubject: s\n\nbody").content_hash
    assert parse_email(b"From: john@example.com\nSubject: s\n\nbody").content_hash != base
    assert parse_email(b"From: jane@example.com\nSubject: t\n\nbody").content_hash != base


def test_different_attachments_different_hash() -> None:
    """Two "scan attached" mails with the same empty body are different mails."""

    def scan(pdf: bytes) -> bytes:
        return (
            b"From: scanner@example.com\nSubject: Scan\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n"
            b"--b\nContent-Type: application/pdf\nContent-Disposition: attachment; filename=scan.pdf\n"
            b"Content-Transfer-Encoding: base64\n\n" + base64.encodebytes(pdf) + b"--b--\n"
        )

    assert parse_email(scan(b"%PDF one")).content_hash != parse_email(scan(b"%PDF second page")).content_hash
    assert parse_email(scan(b"%PDF one")).content_hash == parse_email(scan(b"%PDF one")).content_hash


def test_the_same_words_to_two_support_addresses_are_two_mails() -> None:
    """Two brands, two tickets; the order and case of the recipients do not matter."""
    acme = parse_email(b"From: jane@example.com\nTo: support@acme.example\nSubject: s\n\nbody").content_hash
    globex = parse_email(b"From: jane@example.com\nTo: support@globex.example\nSubject: s\n\nbody").content_hash
    both = b"From: jane@example.com\nTo: Support@Acme.example\nCc: billing@acme.example\nSubject: s\n\nbody"
    swapped = b"From: jane@example.com\nTo: billing@acme.example\nCc: support@acme.example\nSubject: s\n\nbody"
    assert acme != globex
    assert parse_email(both).content_hash == parse_email(swapped).content_hash
