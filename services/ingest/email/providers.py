"""Inbound-parse webhooks of SendGrid, Mailgun and Postmark turned back into RFC 5322 bytes.

Pure: payload in, `ProviderMail(raw, delivery_id, envelope_recipients)` out (a NamedTuple,
so it unpacks as the 3-tuple `accept_raw_email` wants). Every route then goes through
`parse_email` like any other mail, so threading, auto-reply detection and de-duplication
behave the same whichever way a mail came in.

When the provider posts the original message (SendGrid "Send Raw" -> `email`, a Mailgun
route URL ending in ``mime`` -> `body-mime`, Postmark "Include raw email content" ->
`RawEmail`) those bytes are used untouched. Otherwise a message is rebuilt from the parsed
fields:

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

The documented payload shapes this follows:

* SendGrid Inbound Parse, multipart/form-data. Parsed: `headers` (raw header block),
  `from`, `to`, `cc`, `subject` (decoded by SendGrid), `text`, `html`, `charsets` (JSON
  field -> charset of the posted bytes), `envelope` (JSON {"to": [...], "from": "..."}),
  `attachments` (count), `attachment-info` (JSON {"attachment1": {"filename", "name",
  "type", "content-id"}}), `content-ids` (JSON cid -> "attachmentN") and the files
  `attachment1..N`. Raw: `email` plus the same envelope fields. No delivery id: SendGrid
  sends none; its retries (for up to 3 days) are caught by the content hash downstream.
* Mailgun routes, forward() to a URL: application/x-www-form-urlencoded, or
  multipart/form-data when there are attachments. `timestamp`, `token`, `signature`
  (checked by the route), `recipient` (SMTP RCPT TO), `sender` (MAIL FROM), `from`,
  `subject`; parsed: `message-headers` (JSON [[name, value], ...]), `body-plain`,
  `body-html`, `attachment-count`, `content-id-map` (JSON "<cid>" -> "attachment-N"),
  the files `attachment-1..N`; raw (URL ending in ``mime``): `body-mime`. Delivery id:
  the token. A store(notify=...) notification carries attachment *URLs* (`attachments`
  JSON) on Mailgun's storage instead of files: those are not fetched here (this module
  does no I/O, and would need the Mailgun API key), so such mails arrive without them.
* Postmark inbound webhook, JSON: `FromFull` {Email, Name}, `ToFull`/`CcFull` [{Email,
  Name}], `Subject`, `Date`, `ReplyTo`, `TextBody`, `HtmlBody`, `Headers` [{Name, Value}],
  `Attachments` [{Name, Content (base64), ContentType, ContentLength, ContentID}],
  `OriginalRecipient` (the envelope recipient), `MessageID` (Postmark's id for this
  inbound message, not the Message-ID header, which is in `Headers`) and, when enabled,
  `RawEmail`. Delivery id: `MessageID`.

Anything a mail cannot be made of raises `ProviderPayloadError(field, detail)` (the route
answers 422 naming the field). Forms are read with `parse_form`, which keeps every value
as bytes: SendGrid's `text`/`html` come in the charset its `charsets` field names, and
raw MIME must not go through a text decode at all.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from email import policy as email_policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses, quote
from typing import Any, NamedTuple
from urllib.parse import parse_qsl

try:
    from python_multipart.exceptions import FormParserError
    from python_multipart.multipart import MultipartParser, parse_options_header
except ImportError:  # python-multipart < 0.0.13 named its package `multipart`
    from multipart.exceptions import FormParserError  # type: ignore[no-redef]
    from multipart.multipart import MultipartParser, parse_options_header  # type: ignore[no-redef]

from .charsets import decode_bytes

__all__ = [
    "FormData",
    "FormPart",
    "ProviderMail",
    "ProviderPayloadError",
    "from_mailgun",
    "from_postmark",
    "from_sendgrid",
    "parse_form",
]

SMTP = email_policy.SMTP
MAX_FORM_PARTS = 1000
_ATTACHMENT_FIELD = {"sendgrid": re.compile(r"attachment(\d+)"), "mailgun": re.compile(r"attachment-(\d+)")}
_HEADER_NAME = re.compile(r"[\x21-\x39\x3b-\x7e]+")  # RFC 5322 ftext
_FOLD_AT = 78
_MAX_LINE = 998


class ProviderPayloadError(ValueError):
    """The posted payload is not one a mail can be made of; `field` names the culprit."""

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(f"{field}: {detail}")
        self.field = field
        self.detail = detail


class ProviderMail(NamedTuple):
    raw: bytes
    delivery_id: str | None
    envelope_recipients: tuple[str, ...]


# ---------------------------------------------------------------- forms


@dataclass(frozen=True)
class FormPart:
    name: str
    data: bytes
    filename: str | None = None  # set for file uploads
    content_type: str | None = None  # the part's own Content-Type, if it had one


@dataclass(frozen=True)
class FormData:
    """Every part of a posted form, in order, values as bytes."""

    parts: tuple[FormPart, ...] = ()

    @classmethod
    def of(cls, fields: Mapping[str, str | bytes] | None = None, files: Iterable[FormPart] = ()) -> FormData:
        """Build one by hand (tests, or a caller that already has the fields)."""
        parts = [FormPart(k, v.encode("utf-8") if isinstance(v, str) else v) for k, v in (fields or {}).items()]
        return cls((*parts, *files))

    def get(self, name: str) -> FormPart | None:
        return next((p for p in self.parts if p.name == name), None)

    def all(self, name: str) -> list[FormPart]:
        return [p for p in self.parts if p.name == name]

    def text(self, name: str, charset: str | None = None) -> str | None:
        """The first value of `name` decoded (UTF-8 unless `charset` says otherwise), or None."""
        part = self.get(name)
        return None if part is None else decode_bytes(part.data, charset or "utf-8")

    def files(self) -> list[FormPart]:
        return [p for p in self.parts if p.filename is not None]


def parse_form(body: bytes, content_type: str | None) -> FormData:
    """A multipart/form-data or application/x-www-form-urlencoded body, read once from bytes."""
    mime, params = parse_options_header(content_type or "")
    if mime == b"application/x-www-form-urlencoded":
        try:
            pairs = parse_qsl(body, keep_blank_values=True, max_num_fields=MAX_FORM_PARTS)
        except ValueError as exc:
            raise ProviderPayloadError("body", f"not a valid urlencoded form ({exc})") from None
        return FormData(tuple(FormPart(k.decode("utf-8", "replace"), v) for k, v in pairs))
    if mime != b"multipart/form-data":
        raise ProviderPayloadError(
            "body",
            f"expected multipart/form-data or application/x-www-form-urlencoded, "
            f"not {content_type or 'no Content-Type'}",
        )
    boundary = params.get(b"boundary")
    if not boundary:
        raise ProviderPayloadError("body", "multipart/form-data without a boundary")
    return _Multipart(boundary).parse(body)


class _Multipart:
    def __init__(self, boundary: bytes) -> None:
        self.boundary = boundary
        self.parts: list[FormPart] = []
        self.headers: list[tuple[bytes, bytes]] = []
        self.data = bytearray()
        self.name = b""
        self.value = b""
        self.ended = False

    def parse(self, body: bytes) -> FormData:
        callbacks: Any = {
            "on_part_begin": self._begin,
            "on_part_data": self._data,
            "on_part_end": self._end,
            "on_header_field": self._name,
            "on_header_value": self._value,
            "on_header_end": self._header,
            "on_end": self._done,
        }
        try:
            MultipartParser(self.boundary, callbacks).write(body)
        except ProviderPayloadError:
            raise
        except (FormParserError, ValueError) as exc:
            raise ProviderPayloadError("body", f"not valid multipart/form-data ({exc})") from None
        if not self.ended:
            raise ProviderPayloadError("body", "multipart/form-data is truncated (no closing boundary)")
        return FormData(tuple(self.parts))

    def _begin(self) -> None:
        self.headers, self.data = [], bytearray()

    def _data(self, data: bytes, start: int, end: int) -> None:
        self.data += data[start:end]

    def _name(self, data: bytes, start: int, end: int) -> None:
        self.name += data[start:end]

    def _value(self, data: bytes, start: int, end: int) -> None:
        self.value += data[start:end]

    def _header(self) -> None:
        self.headers.append((self.name.strip().lower(), self.value.strip()))
        self.name, self.value = b"", b""

    def _end(self) -> None:
        if len(self.parts) >= MAX_FORM_PARTS:
            raise ProviderPayloadError("body", f"more than {MAX_FORM_PARTS} form fields")
        headers = dict(self.headers)
        _, options = parse_options_header(headers.get(b"content-disposition", b""))
        if b"name" not in options:
            raise ProviderPayloadError("body", "a form part has no Content-Disposition name")
        filename = options.get(b"filename")
        content_type = headers.get(b"content-type")
        self.parts.append(
            FormPart(
                name=options[b"name"].decode("utf-8", "replace"),
                data=bytes(self.data),
                filename=decode_bytes(filename, "utf-8") if filename is not None else None,
                content_type=content_type.decode("latin-1") if content_type else None,
            )
        )

    def _done(self) -> None:
        self.ended = True


# ---------------------------------------------------------------- building a message


@dataclass(frozen=True)
class _Attachment:
    filename: str
    content_type: str
    data: bytes
    content_id: str | None = None


def _text(value: str) -> str:
    """Lone surrogates (JSON can carry them: "\\udc80") become U+FFFD: they cannot be encoded."""
    return value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


def _clean_value(value: str) -> str:
    """Unfold (RFC 5322 3.2.2) and make sure no line break is left to inject a header with."""
    value = re.sub(r"\r?\n(?=[ \t])", "", _text(value))
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
    name = _text(name).strip()
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


def _merge_headers(
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


def _has(headers: Sequence[tuple[str, str]], name: str) -> bool:
    return any(n.strip().lower() == name for n, _ in headers)


def _cid(value: object) -> str | None:
    """`<id>` for a Content-ID given with or without brackets; None for nothing usable."""
    if not isinstance(value, str):
        return None
    value = re.sub(r"[\s<>\x00-\x1f\x7f]+", "", _text(value))
    return f"<{value}>" if value else None


def _split_type(content_type: str | None) -> tuple[str, str]:
    main, _, sub = (content_type or "").split(";", 1)[0].strip().lower().partition("/")
    if not main or not sub or not _HEADER_NAME.fullmatch(main) or not _HEADER_NAME.fullmatch(sub):
        return "application", "octet-stream"
    return main, sub


def _add_attachment(msg: EmailMessage, attachment: _Attachment, html: str | None) -> None:
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


def _build_message(
    headers: Sequence[tuple[str, str]], *, text: str | None, html: str | None, attachments: Sequence[_Attachment] = ()
) -> bytes:
    """RFC 5322 bytes: `headers` (already merged) on top of a body EmailMessage builds."""
    body = EmailMessage(policy=SMTP)
    text = _text(text) if text and text.strip() else None
    html = _text(html) if html and html.strip() else None
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


def _header_block(block: str) -> list[tuple[str, str]]:
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


def _json(value: str | None, field: str, expected: type) -> Any:
    if value is None or not value.strip():
        return None
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError as exc:
        raise ProviderPayloadError(field, f"not valid JSON ({exc.msg})") from None
    except RecursionError:
        raise ProviderPayloadError(field, "JSON nested too deeply") from None
    if not isinstance(parsed, expected):
        raise ProviderPayloadError(field, f"expected a JSON {expected.__name__}")
    return parsed


def _addresses(values: Iterable[str]) -> tuple[str, ...]:
    found: list[str] = []
    for _, address in getaddresses([v for v in values if v]):
        address = address.strip()
        if "@" in address and address.lower() not in (a.lower() for a in found):
            found.append(address)
    return tuple(found)


def _numbered_files(form: FormData, kind: str) -> list[tuple[int, FormPart]]:
    pattern = _ATTACHMENT_FIELD[kind]
    numbered = [(int(m.group(1)), p) for p in form.parts if (m := pattern.fullmatch(p.name))]
    return sorted(numbered, key=lambda pair: pair[0])


# ---------------------------------------------------------------- SendGrid


def from_sendgrid(form: FormData) -> ProviderMail:
    charsets = _charsets(form.text("charsets"))
    envelope = _json(form.text("envelope"), "envelope", dict) or {}
    to = envelope.get("to") or []
    if isinstance(to, str):
        to = [to]
    if not isinstance(to, list) or not all(isinstance(a, str) for a in to):
        raise ProviderPayloadError("envelope", "`to` must be a list of addresses")
    recipients = _addresses(to)

    raw = form.get("email")
    if raw is not None and raw.data.strip():
        return ProviderMail(raw.data, None, recipients)

    def field(name: str) -> str | None:
        return form.text(name, charsets.get(name))

    original = _header_block(field("headers") or "")
    sender = field("from")
    if not (sender and sender.strip()) and not _has(original, "from"):
        raise ProviderPayloadError(
            "from",
            'neither the raw message (`email`, SendGrid\'s "Send Raw") nor a sender '
            "(`from`, or From in `headers`) was posted",
        )
    headers = _merge_headers(
        original,
        [("From", sender), ("To", field("to")), ("Cc", field("cc")), ("Subject", field("subject"))],
        override=False,
    )
    envelope_from = envelope.get("from")
    if isinstance(envelope_from, str) and envelope_from.strip() and not _has(headers, "return-path"):
        headers.insert(0, ("Return-Path", f"<{envelope_from.strip().strip('<>')}>"))

    info = _json(form.text("attachment-info"), "attachment-info", dict) or {}
    cids = {str(key): str(value) for key, value in (_json(form.text("content-ids"), "content-ids", dict) or {}).items()}
    by_attachment = {value: key for key, value in cids.items()}
    attachments = []
    for number, part in _numbered_files(form, "sendgrid"):
        meta = info.get(part.name) if isinstance(info.get(part.name), dict) else {}
        attachments.append(
            _Attachment(
                filename=str(meta.get("filename") or meta.get("name") or part.filename or f"attachment{number}"),
                content_type=str(meta.get("type") or part.content_type or "application/octet-stream"),
                data=part.data,
                content_id=_cid(meta.get("content-id") or by_attachment.get(part.name)),
            )
        )
    raw_bytes = _build_message(headers, text=field("text"), html=field("html"), attachments=attachments)
    return ProviderMail(raw_bytes, None, recipients)


def _charsets(value: str | None) -> dict[str, str]:
    """SendGrid's field -> charset map; a broken one is only a hint lost, not a refusal."""
    try:
        parsed = json.loads(value) if value else {}
    except (json.JSONDecodeError, RecursionError):
        return {}
    return {str(k): str(v) for k, v in parsed.items() if isinstance(v, str)} if isinstance(parsed, dict) else {}


# ---------------------------------------------------------------- Mailgun


def from_mailgun(form: FormData) -> ProviderMail:
    token = (form.text("token") or "").strip() or None
    recipients = _addresses((form.text("recipient") or "").split(","))

    raw = form.get("body-mime")
    if raw is not None and raw.data.strip():
        return ProviderMail(raw.data, token, recipients)

    listed = _json(form.text("message-headers"), "message-headers", list) or []
    original: list[tuple[str, str]] = []
    for index, pair in enumerate(listed):
        if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(x, str) for x in pair)):
            raise ProviderPayloadError("message-headers", f"entry {index} is not a [name, value] pair of strings")
        original.append((pair[0], pair[1]))

    sender = form.text("from") or form.text("sender")
    if not (sender and sender.strip()) and not _has(original, "from"):
        raise ProviderPayloadError(
            "from",
            'neither the raw message (`body-mime`, a route URL ending in "mime") '
            "nor a sender (`from`, `sender` or From in `message-headers`) was posted",
        )
    headers = _merge_headers(original, [("From", form.text("from")), ("Subject", form.text("subject"))], override=False)
    if not _has(headers, "from"):
        headers.append(("From", sender or ""))
    if not _has(headers, "to") and recipients:
        headers.append(("To", ", ".join(recipients)))
    envelope_from = (form.text("sender") or "").strip()
    if envelope_from and not _has(headers, "return-path"):
        headers.insert(0, ("Return-Path", f"<{envelope_from.strip('<>')}>"))

    cid_map = _json(form.text("content-id-map"), "content-id-map", dict) or {}
    by_attachment = {str(value): str(key) for key, value in cid_map.items()}
    attachments = [
        _Attachment(
            filename=part.filename or f"attachment-{number}",
            content_type=part.content_type or "application/octet-stream",
            data=part.data,
            content_id=_cid(by_attachment.get(part.name)),
        )
        for number, part in _numbered_files(form, "mailgun")
    ]
    html_parts = [form_part.data.decode("utf-8", "replace") for form_part in form.all("body-html")]
    raw_bytes = _build_message(
        headers, text=form.text("body-plain"), html="\n".join(html_parts) or None, attachments=attachments
    )
    return ProviderMail(raw_bytes, token, recipients)


# ---------------------------------------------------------------- Postmark


def _string(payload: Mapping[str, Any], key: str) -> str | None:
    value = payload.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ProviderPayloadError(key, "expected a string")
    return value


def _postmark_address(entry: Any, field: str) -> str | None:
    if entry is None:
        return None
    if not isinstance(entry, dict):
        raise ProviderPayloadError(field, "expected an object with Email and Name")
    email, name = entry.get("Email"), entry.get("Name")
    if not isinstance(email, str) or not email.strip():
        return None
    email = _text(email).strip().strip("<>")
    name = _text(name).strip() if isinstance(name, str) else ""
    return f'"{quote(name)}" <{email}>' if name else f"<{email}>"


def _postmark_list(payload: Mapping[str, Any], full: str, plain: str) -> str | None:
    entries = payload.get(full)
    if entries is None:
        return _string(payload, plain)
    if not isinstance(entries, list):
        raise ProviderPayloadError(full, "expected a list of {Email, Name}")
    found = [a for index, e in enumerate(entries) if (a := _postmark_address(e, f"{full}[{index}]"))]
    return ", ".join(found) or _string(payload, plain)


def from_postmark(payload: Mapping[str, Any]) -> ProviderMail:
    if not isinstance(payload, Mapping):
        raise ProviderPayloadError("body", "expected a JSON object")
    message_id = payload.get("MessageID")
    delivery_id = (str(message_id).strip() or None) if isinstance(message_id, (str, int)) else None
    original_recipient = _string(payload, "OriginalRecipient") or ""
    recipients = _addresses(original_recipient.split(","))

    raw = _string(payload, "RawEmail")
    if raw and raw.strip():
        try:
            data = raw.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            data = raw.encode("utf-8", "replace")
        return ProviderMail(data, delivery_id, recipients)

    sender = _postmark_address(payload.get("FromFull"), "FromFull") or _string(payload, "From")
    if not (sender and sender.strip()):
        raise ProviderPayloadError(
            "FromFull",
            "neither the raw message (`RawEmail`, Postmark's \"Include raw email "
            'content") nor a sender (`FromFull` or `From`) was posted',
        )
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
    headers = _merge_headers(
        original,
        [
            ("From", sender),
            ("To", _postmark_list(payload, "ToFull", "To")),
            ("Cc", _postmark_list(payload, "CcFull", "Cc")),
            ("Reply-To", _string(payload, "ReplyTo")),
            ("Subject", _string(payload, "Subject")),
            ("Date", _string(payload, "Date")),
        ],
        override=True,
    )

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
            _Attachment(
                filename=str(entry.get("Name") or f"attachment-{index + 1}"),
                content_type=str(entry.get("ContentType") or "application/octet-stream"),
                data=data,
                content_id=_cid(entry.get("ContentID")),
            )
        )
    raw_bytes = _build_message(
        headers, text=_string(payload, "TextBody"), html=_string(payload, "HtmlBody"), attachments=attachments
    )
    return ProviderMail(raw_bytes, delivery_id, recipients)
