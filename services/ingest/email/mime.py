"""The MIME tree: which parts are the body, which are attachments, and their text.

Body: `EmailMessage.get_body` applies RFC 2046 (alternatives, multipart/related's root);
we ask it once for text/plain and once for text/html. Every other leaf part is an
attachment, except further text/plain or text/html parts that carry no file name and
are not marked as attachments (the unused alternatives). Attached messages
(message/rfc822, delivery-status blocks) are one attachment each; we do not descend.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Iterator
from email.message import EmailMessage, Message

from services.ingest.domain.inbound import Attachment

from .charsets import decode_bytes, repair_surrogates, strip_controls
from .headers import POLICY, Headers, clean

__all__ = [
    "MAX_DEPTH",
    "attachments",
    "body_parts",
    "charset_hint",
    "fallback_text",
    "part_text",
    "payload_bytes",
    "walk",
]

MAX_DEPTH = 40  # deeper nesting is ignored; real mail stays below ten
_SERIALISE = POLICY.clone(max_line_length=0)


def walk(msg: Message) -> Iterator[Message]:
    """Every part, depth-first, without descending into attached messages or too deep."""
    stack: list[tuple[Message, int]] = [(msg, 0)]
    while stack:
        part, depth = stack.pop()
        yield part
        if part.get_content_maintype() == "multipart" and part.is_multipart() and depth < MAX_DEPTH:
            children = [p for p in part.get_payload() if isinstance(p, Message)]
            stack.extend((child, depth + 1) for child in reversed(children))


def charset_hint(msg: Message) -> str | None:
    """The first declared charset in the mail: the best guess for raw 8-bit headers."""
    for part in walk(msg):
        try:
            charset = part.get_content_charset()
        except Exception:
            continue
        if charset:
            return charset
    return None


def body_parts(msg: EmailMessage) -> tuple[list[Message], list[Message]]:
    """The text/plain parts and the text/html parts a mail client would display.

    Usually one of each at most. But Apple Mail and others send "text, image, text,
    PDF, text" as one multipart/mixed: every inline text part of the body's type
    directly beside it belongs to the body, in order (clients show them all).
    """
    found: list[list[Message]] = []
    for subtype in ("plain", "html"):
        try:
            body = msg.get_body(preferencelist=(subtype,))
        except Exception:
            body = None
        found.append(_with_siblings(msg, body) if body is not None else [])
    return found[0], found[1]


def _with_siblings(msg: Message, body: Message) -> list[Message]:
    for parent in walk(msg):
        if parent.get_content_type() != "multipart/mixed" or not parent.is_multipart():
            continue
        children = parent.get_payload()
        if any(child is body for child in children):
            content_type = body.get_content_type()
            return [
                child
                for child in children
                if child is body
                or (isinstance(child, Message) and child.get_content_type() == content_type and _is_body_like(child))
            ]
    return [body]


def payload_bytes(part: Message) -> bytes:
    """The decoded content of a leaf part (base64 / quoted-printable / uuencode undone)."""
    try:
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    if isinstance(data, bytes):
        return data
    payload = part.get_payload()
    if isinstance(payload, str):
        return payload.encode("utf-8", errors="surrogateescape")
    return b""


def part_text(part: Message) -> str:
    """A text part's content as str, whatever its charset claims (LF line ends)."""
    try:
        charset = part.get_content_charset()
    except Exception:
        charset = None
    text = decode_bytes(payload_bytes(part), charset)
    return strip_controls(repair_surrogates(text).replace("\r\n", "\n").replace("\r", "\n"))


def fallback_text(msg: Message) -> str:
    """Body text when get_body found none: a lone text/* part of another subtype
    (text/enriched, text/x-...), a "multipart" mail whose boundary never occurs (the
    parser keeps the raw payload; a mail client shows that text too), or a bare
    machine report (message/delivery-status), whose fields are readable text."""
    if _is_attachment(msg):
        return ""
    content_type = msg.get_content_type()
    if content_type in _REPORT_BODIES and msg.is_multipart():
        blocks = [p for p in msg.get_payload() if isinstance(p, Message)]
        return "\n\n".join("\n".join(f"{k}: {clean(v)}" for k, v in block.raw_items()) for block in blocks)
    if msg.is_multipart():
        return ""
    if msg.get_content_maintype() in ("text", "multipart"):
        return part_text(msg)
    return ""


_REPORT_BODIES = (
    "message/delivery-status",
    "message/global-delivery-status",
    "message/disposition-notification",
    "message/feedback-report",
)


def _is_attachment(part: Message) -> bool:
    """`EmailMessage.is_attachment`: every part parsed with our policy is an EmailMessage,
    which reads the parsed Content-Disposition (the plain `Message` type does not know it)."""
    return isinstance(part, EmailMessage) and part.is_attachment()


def _is_body_like(part: Message) -> bool:
    """A text/plain or text/html part without a file name: an alternative of the body."""
    return (
        part.get_content_type() in ("text/plain", "text/html") and not _is_attachment(part) and not part.get_filename()
    )


def attachments(
    msg: Message, body: set[int], max_bytes: int, charset: str | None
) -> tuple[tuple[Attachment, ...], tuple[str, ...]]:
    """Metadata of every attachment and the names of those larger than ``max_bytes``.

    ``body`` holds the ids of the parts used as the body. Oversized parts are listed
    with their real size: the mail is still a ticket, only their content is not kept.
    """
    found: list[Attachment] = []
    oversized: list[str] = []
    for part in walk(msg):
        maintype = part.get_content_maintype()
        if part is msg and not _is_attachment(msg) and maintype in ("text", "multipart"):
            continue  # a single-part mail's only part is its body
        if maintype == "multipart" and part.is_multipart():
            continue
        if id(part) in body or _is_body_like(part):
            continue
        attachment = _attachment(part, len(found) + 1, charset)
        found.append(attachment)
        if attachment.size > max_bytes:
            oversized.append(attachment.filename)
    return tuple(found), tuple(oversized)


def _attachment(part: Message, number: int, charset: str | None) -> Attachment:
    content_type = part.get_content_type()
    if part.get_content_maintype() == "message" or part.is_multipart():
        size = _message_size(part)
    else:
        size = len(payload_bytes(part))
    ids = Headers(part, charset).ids("content-id")
    disposition = part.get_content_disposition()
    return Attachment(
        filename=_filename(part, content_type, number, charset),
        content_type=content_type,
        size=size,
        content_id=ids[0] if ids else None,
        inline=disposition == "inline" or (disposition is None and bool(ids)),
    )


def _message_size(part: Message) -> int:
    """Size of an attached message (message/rfc822, delivery-status blocks) in bytes."""
    payload = part.get_payload()
    if isinstance(payload, str):
        return len(payload)
    try:
        return sum(len(p.as_bytes(policy=_SERIALISE)) for p in payload if isinstance(p, Message))
    except Exception:
        return 0


def _filename(part: Message, content_type: str, number: int, charset: str | None) -> str:
    """The part's file name (RFC 2231 / RFC 2047 decoded), or a made-up one."""
    headers = Headers(part, charset)
    name = _raw_param(headers, "content-disposition", "filename") or _raw_param(headers, "content-type", "name")
    if name:
        name = name.replace("/", "_").replace("\\", "_").strip(" .")
        if name:
            return name
    if content_type == "message/rfc822":
        subject = _attached_subject(part, charset)
        if subject:
            return subject + ".eml"  # what a mail client shows for a forwarded mail
        extension = ".eml"
    else:
        extension = mimetypes.guess_extension(content_type, strict=False) or ".bin"
    return f"attachment-{number}{extension}"


def _attached_subject(part: Message, charset: str | None) -> str:
    payload = part.get_payload()
    inner = payload[0] if isinstance(payload, list) and payload and isinstance(payload[0], Message) else None
    if inner is None:
        return ""
    subject = Headers(inner, charset).text("subject")
    return subject.replace("/", "_").replace("\\", "_").strip(" .")[:200]


def _raw_param(headers: Headers, header: str, param: str) -> str | None:
    """A MIME parameter read from the raw header with the compat32 parser, which keeps
    RFC 2231 values as (charset, language, text) so that we decode them with our own
    charset fallbacks instead of failing on e.g. Microsoft's ISO-2022-JP."""
    raw = headers.first(header)
    if not raw:
        return None
    holder = Message()
    holder[header] = raw
    try:
        params = holder.get_params(header=header) or []
    except Exception:
        return None
    for key, value in params:
        if key.lower() != param:
            continue
        if isinstance(value, tuple):
            charset, _language, text = value
            try:
                data = text.encode("raw-unicode-escape")
            except UnicodeEncodeError:
                data = text.encode("utf-8", errors="replace")
            value = decode_bytes(data, charset)
        return headers.decode_words(value) or None
    return None
