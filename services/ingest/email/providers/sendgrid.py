"""SendGrid Inbound Parse (multipart/form-data) turned back into RFC 5322 bytes.

Parsed: `headers` (raw header block), `from`, `to`, `cc`, `subject` (decoded by SendGrid),
`text`, `html`, `charsets` (JSON field -> charset of the posted bytes), `envelope` (JSON
{"to": [...], "from": "..."}), `attachments` (count), `attachment-info` (JSON
{"attachment1": {"filename", "name", "type", "content-id"}}), `content-ids` (JSON cid ->
"attachmentN") and the files `attachment1..N`. Raw ("Send Raw"): `email` plus the same
envelope fields. No delivery id: SendGrid sends none; its retries (for up to 3 days) are
caught by the content hash downstream.
"""

from __future__ import annotations

import json
import re

from .forms import FormData, ProviderPayloadError, json_field, numbered_files
from .rebuild import (
    Attachment,
    ProviderMail,
    build_message,
    content_id,
    has_header,
    header_block,
    merge_headers,
    unique_addresses,
)

__all__ = ["from_sendgrid"]

_ATTACHMENT_FIELD = re.compile(r"attachment(\d+)")


def from_sendgrid(form: FormData) -> ProviderMail:
    charsets = _charsets(form.text("charsets"))
    envelope = json_field(form.text("envelope"), "envelope", dict) or {}
    to = envelope.get("to") or []
    if isinstance(to, str):
        to = [to]
    if not isinstance(to, list) or not all(isinstance(a, str) for a in to):
        raise ProviderPayloadError("envelope", "`to` must be a list of addresses")
    recipients = unique_addresses(to)

    raw = form.get("email")
    if raw is not None and raw.data.strip():
        return ProviderMail(raw.data, None, recipients)

    def field(name: str) -> str | None:
        return form.text(name, charsets.get(name))

    original = header_block(field("headers") or "")
    sender = field("from")
    if not (sender and sender.strip()) and not has_header(original, "from"):
        raise ProviderPayloadError(
            "from",
            'neither the raw message (`email`, SendGrid\'s "Send Raw") nor a sender '
            "(`from`, or From in `headers`) was posted",
        )
    headers = merge_headers(
        original,
        [("From", sender), ("To", field("to")), ("Cc", field("cc")), ("Subject", field("subject"))],
        override=False,
    )
    envelope_from = envelope.get("from")
    if isinstance(envelope_from, str) and envelope_from.strip() and not has_header(headers, "return-path"):
        headers.insert(0, ("Return-Path", f"<{envelope_from.strip().strip('<>')}>"))
    attachments = _attachments(form)
    raw_bytes = build_message(headers, text=field("text"), html=field("html"), attachments=attachments)
    return ProviderMail(raw_bytes, None, recipients)


def _attachments(form: FormData) -> list[Attachment]:
    """The files `attachmentN`, described by `attachment-info` and `content-ids` where they can be."""
    info = json_field(form.text("attachment-info"), "attachment-info", dict) or {}
    cids = json_field(form.text("content-ids"), "content-ids", dict) or {}
    by_attachment = {str(value): str(key) for key, value in cids.items()}
    attachments = []
    for number, part in numbered_files(form, _ATTACHMENT_FIELD):
        meta = info.get(part.name)
        if not isinstance(meta, dict):
            meta = {}
        attachments.append(
            Attachment(
                filename=str(meta.get("filename") or meta.get("name") or part.filename or f"attachment{number}"),
                content_type=str(meta.get("type") or part.content_type or "application/octet-stream"),
                data=part.data,
                content_id=content_id(meta.get("content-id") or by_attachment.get(part.name)),
            )
        )
    return attachments


def _charsets(value: str | None) -> dict[str, str]:
    """SendGrid's field -> charset map; a broken one is only a hint lost, not a refusal."""
    try:
        parsed = json.loads(value) if value else {}
    except (json.JSONDecodeError, RecursionError):
        return {}
    return {str(k): str(v) for k, v in parsed.items() if isinstance(v, str)} if isinstance(parsed, dict) else {}
