"""An RFC 5322 message rebuilt from the parsed fields a provider posted.

* headers: the provider's own copy of the original header block (SendGrid `headers`,
  Mailgun `message-headers`, Postmark `Headers`); the dedicated From/To/Cc/Subject fields
  fill in what it lacks (Postmark's structured From/To/Cc/Reply-To/Subject/Date fields
  always win: its `Headers` list leaves them out). Message-ID, In-Reply-To, References,
  Auto-Submitted, Precedence, List-Id, Return-Path ... are kept, so threading and
  `automated_reason` still work. ASCII values are written verbatim (only refolded when a
  line is long); non-ASCII values are RFC 2047-encoded by `email.policy.SMTP`. The
  original Content-*/MIME-Version headers are dropped: they describe a body we re-encode;
* body and attachments: built with `email.message.EmailMessage` (policy SMTP): text/plain
  and/or text/html (multipart/alternative when both), then every attachment; a part
  whose Content-ID the HTML references as ``cid:`` is inline, the others are attachments.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from email import policy as email_policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses
from typing import Any, NamedTuple

__all__ = [
    "Attachment",
    "ProviderMail",
    "build_message",
    "content_id",
    "has_header",
    "header_block",
    "merge_headers",
    "unique_addresses",
    "without_surrogates",
]

SMTP = email_policy.SMTP
_HEADER_NAME = re.compile(r"[\x21-\x39\x3b-\x7e]+")  # RFC 5322 ftext
_FOLD_AT = 78


class ProviderMail(NamedTuple):
    raw: bytes
    delivery_id: str | None
    envelope_recipients: tuple[str, ...]


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes
    content_id: str | None = None


def without_surrogates(value: str) -> str:
    """Lone surrogates (JSON can carry them: "\\udc80") become U+FFFD: they cannot be encoded."""
    return value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


def has_header(headers: Sequence[tuple[str, str]], name: str) -> bool:
    """Whether `headers` has a field called `name` (given in lower case)."""
    return any(n.strip().lower() == name for n, _ in headers)


def content_id(value: object) -> str | None:
    """`<id>` for a Content-ID given with or without brackets; None for nothing usable."""
    if not isinstance(value, str):
        return None
    value = re.sub(r"[\s<>\x00-\x1f\x7f]+", "", without_surrogates(value))
    return f"<{value}>" if value else None


def unique_addresses(values: Iterable[str]) -> tuple[str, ...]:
    """The addresses in `values` (address lists), each once whatever its case, in order."""
    found: list[str] = []
    for _, address in getaddresses([v for v in values if v]):
        address = address.strip()
        if "@" in address and address.lower() not in (a.lower() for a in found):
            found.append(address)
    return tuple(found)


def header_block(block: str) -> list[tuple[str, str]]:
    """(name, value) pairs of a raw header block (folding kept); lines that are not fields are skipped."""
    pairs: list[list[str]] = []
    for line in block.replace("\r\n", "\n").split("\n"):
        if line[:1] in (" ", "\t"):
            if pairs:
                pairs[-1][1] += "\r\n" + line
            continue
        name, colon, value = line.partition(":")
        name = name.rstrip(" \t")
        if colon and _HEADER_NAME.fullmatch(name):
            pairs.append([name, value.strip()])
    return [(name, value) for name, value in pairs]


def merge_headers(
    original: Sequence[tuple[str, str]], fields: Sequence[tuple[str, str | None]], *, override: bool
) -> list[tuple[str, str]]:
    """`original` minus body headers, plus each of `fields` that has a value: in place of the
    header of that name when `override` (else only where the original has none), appended
    when the original had none.

    SendGrid and Mailgun post *decoded* From/To/Cc/Subject fields, and a decoded display
    name ("Müller, Jürgen <j@example.de>") is no longer one address: their own copy of the
    original header is preferred (override=False). Postmark's fields are structured
    ({Email, Name}) and its Headers list leaves them out: they win (override=True).
    """
    present = {name.strip().lower() for name, _ in original if not _content_header(name)}
    wanted = {
        name.lower(): (name, value)
        for name, value in fields
        if value and value.strip() and (override or name.lower() not in present)
    }
    placed: set[str] = set()
    merged: list[tuple[str, str]] = []
    for name, value in original:
        lower = name.strip().lower()
        if _content_header(lower):
            continue
        if lower in wanted:
            if lower not in placed:
                merged.append(wanted[lower])
                placed.add(lower)
            continue
        merged.append((name, value))
    merged += [pair for lower, pair in wanted.items() if lower not in placed]
    return merged


def build_message(
    headers: Sequence[tuple[str, str]], *, text: str | None, html: str | None, attachments: Sequence[Attachment] = ()
) -> bytes:
    """RFC 5322 bytes: `headers` (already merged) on top of a body EmailMessage builds."""
    body = EmailMessage(policy=SMTP)
    text = without_surrogates(text) if text and text.strip() else None
    html = without_surrogates(html) if html and html.strip() else None
    if html is not None and text is not None:
        body.set_content(text, cte=_cte(text))
        body.add_alternative(html, subtype="html", cte=_cte(html))
    elif html is not None:
        body.set_content(html, subtype="html", cte=_cte(html))
    else:
        body.set_content(text or "", cte=_cte(text or ""))
    for attachment in attachments:
        _add_attachment(body, attachment, html)
    head = b"".join(_header_bytes(name, value) for name, value in headers)
    return head + body.as_bytes(policy=SMTP)


def _clean_value(value: str) -> str:
    """Unfold (RFC 5322 3.2.2) and make sure no line break is left to inject a header with."""
    value = re.sub(r"\r?\n(?=[ \t])", "", without_surrogates(value))
    return re.sub(r"[\x00-\x08\x0a-\x1f\x7f]+", " ", value).strip()


def _fold_ascii(name: str, value: str) -> str:
    """`name: value` folded at white space so that lines stay short; nothing else changes."""
    line = f"{name}: {value}"
    if len(line) <= _FOLD_AT:
        return line + "\r\n"
    out, current = [], ""
    for word in re.split(r"(?=[ \t])", line):
        if current and len(current) + len(word) > _FOLD_AT:
            out.append(current)
            current = word
        else:
            current += word
    out.append(current)
    return "\r\n".join(out) + "\r\n"


def _header_bytes(name: str, value: str) -> bytes:
    name = without_surrogates(name).strip()
    if not _HEADER_NAME.fullmatch(name):
        return b""  # not a header field name; nothing we could write
    value = _clean_value(value)
    if value.isascii():
        return _fold_ascii(name, value).encode("ascii")
    try:  # RFC 2047 encoded words (addresses keep their structure)
        return SMTP.fold_binary(name, SMTP.header_factory(name, value))
    except Exception:
        return f"{name}: {value}\r\n".encode("utf-8", "replace")


def _content_header(name: str) -> bool:
    lower = name.strip().lower()
    return lower.startswith("content-") or lower == "mime-version"


def _split_type(content_type: str | None) -> tuple[str, str]:
    main, _, sub = (content_type or "").split(";", 1)[0].strip().lower().partition("/")
    if not main or not sub or not _HEADER_NAME.fullmatch(main) or not _HEADER_NAME.fullmatch(sub):
        return "application", "octet-stream"
    return main, sub


def _add_attachment(msg: EmailMessage, attachment: Attachment, html: str | None) -> None:
    maintype, subtype = _split_type(attachment.content_type)
    inline = bool(attachment.content_id and html and f"cid:{attachment.content_id[1:-1]}" in html)
    extra: dict[str, Any] = {
        "filename": _clean_value(attachment.filename) or None,
        "disposition": "inline" if inline else "attachment",
    }
    if attachment.content_id:
        extra["cid"] = attachment.content_id
    if maintype == "message" and subtype == "rfc822":
        try:  # an attached mail stays a message/rfc822 part (base64 is not allowed there)
            msg.add_attachment(BytesParser(policy=SMTP).parsebytes(attachment.data), **extra)
            return
        except Exception:
            maintype, subtype = "application", "octet-stream"
    elif maintype in ("message", "multipart"):
        maintype, subtype = "application", "octet-stream"
    try:
        msg.add_attachment(attachment.data, maintype, subtype, **extra)
    except Exception:
        msg.add_attachment(attachment.data, maintype, subtype, filename=_ascii_name(extra["filename"]))


def _ascii_name(filename: str | None) -> str | None:
    name = re.sub(r"[^A-Za-z0-9._ -]+", "_", filename or "").strip()
    return name or None


def _cte(text: str) -> str | None:
    """7-bit clean bodies: quoted-printable for mostly-ASCII text, base64 for the rest
    (None lets the stdlib pick 7bit for short ASCII lines)."""
    if text.isascii() and all(len(line) <= _FOLD_AT for line in text.splitlines()):
        return None
    non_ascii = sum(1 for ch in text if ord(ch) > 127)
    return "base64" if non_ascii * 3 > len(text) else "quoted-printable"
