"""Mailgun routes, forward() to a URL, turned back into RFC 5322 bytes.

The body is application/x-www-form-urlencoded, or multipart/form-data when there are
attachments: `timestamp`, `token`, `signature` (checked by the route), `recipient` (SMTP
RCPT TO), `sender` (MAIL FROM), `from`, `subject`; parsed: `message-headers` (JSON [[name,
value], ...]), `body-plain`, `body-html`, `attachment-count`, `content-id-map` (JSON
"<cid>" -> "attachment-N"), the files `attachment-1..N`; raw (URL ending in ``mime``):
`body-mime`. Delivery id: the token.

A store(notify=...) notification carries attachment *URLs* (`attachments` JSON) on
Mailgun's storage instead of files: those are not fetched here (this package does no I/O,
and would need the Mailgun API key), so such mails arrive without them.
"""

from __future__ import annotations

import re

from .forms import FormData, ProviderPayloadError, json_field, numbered_files
from .rebuild import (
    Attachment,
    ProviderMail,
    build_message,
    content_id,
    has_header,
    merge_headers,
    unique_addresses,
)

__all__ = ["from_mailgun"]

_ATTACHMENT_FIELD = re.compile(r"attachment-(\d+)")


def from_mailgun(form: FormData) -> ProviderMail:
    token = (form.text("token") or "").strip() or None
    recipients = unique_addresses((form.text("recipient") or "").split(","))

    raw = form.get("body-mime")
    if raw is not None and raw.data.strip():
        return ProviderMail(raw.data, token, recipients)

    original = _message_headers(form)
    sender = form.text("from") or form.text("sender")
    if not (sender and sender.strip()) and not has_header(original, "from"):
        raise ProviderPayloadError(
            "from",
            'neither the raw message (`body-mime`, a route URL ending in "mime") '
            "nor a sender (`from`, `sender` or From in `message-headers`) was posted",
        )
    headers = merge_headers(original, [("From", form.text("from")), ("Subject", form.text("subject"))], override=False)
    if not has_header(headers, "from"):
        headers.append(("From", sender or ""))
    if not has_header(headers, "to") and recipients:
        headers.append(("To", ", ".join(recipients)))
    envelope_from = (form.text("sender") or "").strip()
    if envelope_from and not has_header(headers, "return-path"):
        headers.insert(0, ("Return-Path", f"<{envelope_from.strip('<>')}>"))

    attachments = _attachments(form)
    html_parts = [form_part.data.decode("utf-8", "replace") for form_part in form.all("body-html")]
    raw_bytes = build_message(
        headers, text=form.text("body-plain"), html="\n".join(html_parts) or None, attachments=attachments
    )
    return ProviderMail(raw_bytes, token, recipients)


def _message_headers(form: FormData) -> list[tuple[str, str]]:
    """`message-headers`, Mailgun's JSON copy of the original header block."""
    listed = json_field(form.text("message-headers"), "message-headers", list) or []
    original: list[tuple[str, str]] = []
    for index, pair in enumerate(listed):
        if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(x, str) for x in pair)):
            raise ProviderPayloadError("message-headers", f"entry {index} is not a [name, value] pair of strings")
        original.append((pair[0], pair[1]))
    return original


def _attachments(form: FormData) -> list[Attachment]:
    cid_map = json_field(form.text("content-id-map"), "content-id-map", dict) or {}
    by_attachment = {str(value): str(key) for key, value in cid_map.items()}
    return [
        Attachment(
            filename=part.filename or f"attachment-{number}",
            content_type=part.content_type or "application/octet-stream",
            data=part.data,
            content_id=content_id(by_attachment.get(part.name)),
        )
        for number, part in numbered_files(form, _ATTACHMENT_FIELD)
    ]
