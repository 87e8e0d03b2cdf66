"""Postmark's inbound webhook (JSON) turned back into RFC 5322 bytes.

Fields: `FromFull` {Email, Name}, `ToFull`/`CcFull` [{Email, Name}], `Subject`, `Date`,
`ReplyTo`, `TextBody`, `HtmlBody`, `Headers` [{Name, Value}], `Attachments` [{Name,
Content (base64), ContentType, ContentLength, ContentID}], `OriginalRecipient` (the
envelope recipient), `MessageID` (Postmark's id for this inbound message, not the
Message-ID header, which is in `Headers`) and, when "Include raw email content" is
enabled, `RawEmail`. Delivery id: `MessageID`.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from email.utils import quote
from typing import Any

from .forms import ProviderPayloadError
from .rebuild import (
    Attachment,
    ProviderMail,
    build_message,
    content_id,
    merge_headers,
    unique_addresses,
    without_surrogates,
)

__all__ = ["from_postmark"]


def from_postmark(payload: Mapping[str, Any]) -> ProviderMail:
    if not isinstance(payload, Mapping):
        raise ProviderPayloadError("body", "expected a JSON object")
    message_id = payload.get("MessageID")
    delivery_id = (str(message_id).strip() or None) if isinstance(message_id, (str, int)) else None
    original_recipient = _string(payload, "OriginalRecipient") or ""
    recipients = unique_addresses(original_recipient.split(","))

    raw = _string(payload, "RawEmail")
    if raw and raw.strip():
        try:
            data = raw.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            data = raw.encode("utf-8", "replace")
        return ProviderMail(data, delivery_id, recipients)

    sender = _address(payload.get("FromFull"), "FromFull") or _string(payload, "From")
    if not (sender and sender.strip()):
        raise ProviderPayloadError(
            "FromFull",
            "neither the raw message (`RawEmail`, Postmark's \"Include raw email "
            'content") nor a sender (`FromFull` or `From`) was posted',
        )
    headers = merge_headers(
        _headers(payload),
        [
            ("From", sender),
            ("To", _address_list(payload, "ToFull", "To")),
            ("Cc", _address_list(payload, "CcFull", "Cc")),
            ("Reply-To", _string(payload, "ReplyTo")),
            ("Subject", _string(payload, "Subject")),
            ("Date", _string(payload, "Date")),
        ],
        override=True,
    )
    attachments = _attachments(payload)
    raw_bytes = build_message(
        headers, text=_string(payload, "TextBody"), html=_string(payload, "HtmlBody"), attachments=attachments
    )
    return ProviderMail(raw_bytes, delivery_id, recipients)


def _string(payload: Mapping[str, Any], key: str) -> str | None:
    value = payload.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ProviderPayloadError(key, "expected a string")
    return value


def _address(entry: Any, field: str) -> str | None:
    """An {Email, Name} object as `"Name" <email>`; None when it has no address."""
    if entry is None:
        return None
    if not isinstance(entry, dict):
        raise ProviderPayloadError(field, "expected an object with Email and Name")
    email, name = entry.get("Email"), entry.get("Name")
    if not isinstance(email, str) or not email.strip():
        return None
    email = without_surrogates(email).strip().strip("<>")
    name = without_surrogates(name).strip() if isinstance(name, str) else ""
    return f'"{quote(name)}" <{email}>' if name else f"<{email}>"


def _address_list(payload: Mapping[str, Any], full: str, plain: str) -> str | None:
    """The structured list `full` as a header value, else the plain string field `plain`."""
    entries = payload.get(full)
    if entries is None:
        return _string(payload, plain)
    if not isinstance(entries, list):
        raise ProviderPayloadError(full, "expected a list of {Email, Name}")
    found = [a for index, e in enumerate(entries) if (a := _address(e, f"{full}[{index}]"))]
    return ", ".join(found) or _string(payload, plain)


def _headers(payload: Mapping[str, Any]) -> list[tuple[str, str]]:
    """`Headers`, the original header block minus the fields Postmark posts on their own."""
    listed = payload.get("Headers") or []
    if not isinstance(listed, list):
        raise ProviderPayloadError("Headers", "expected a list of {Name, Value}")
    original = []
    for index, entry in enumerate(listed):
        if not (
            isinstance(entry, dict) and isinstance(entry.get("Name"), str) and isinstance(entry.get("Value", ""), str)
        ):
            raise ProviderPayloadError(f"Headers[{index}]", "expected {Name, Value} strings")
        original.append((entry["Name"], entry.get("Value", "")))
    return original


def _attachments(payload: Mapping[str, Any]) -> list[Attachment]:
    entries = payload.get("Attachments") or []
    if not isinstance(entries, list):
        raise ProviderPayloadError("Attachments", "expected a list")
    attachments = []
    for index, entry in enumerate(entries):
        field = f"Attachments[{index}]"
        if not isinstance(entry, dict):
            raise ProviderPayloadError(field, "expected an object with Name, Content and ContentType")
        content = entry.get("Content") or ""
        try:
            if not isinstance(content, str):
                raise ValueError("not a string")
            data = base64.b64decode("".join(content.split()).encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError, ValueError):
            raise ProviderPayloadError(f"{field}.Content", "not base64") from None
        attachments.append(
            Attachment(
                filename=str(entry.get("Name") or f"attachment-{index + 1}"),
                content_type=str(entry.get("ContentType") or "application/octet-stream"),
                data=data,
                content_id=content_id(entry.get("ContentID")),
            )
        )
    return attachments
