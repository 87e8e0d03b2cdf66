"""Property: whatever bytes arrive, parse_email returns a usable ParsedEmail or raises
EmailParseError - no other exception, no unstorable text.

Inputs: arbitrary bytes, header-shaped junk, and real corpus mails that were truncated,
byte-flipped, spliced or had bytes inserted (what a broken relay or a bad webhook does).
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.ingest.email import EmailParseError, ParsedEmail, automated_reason, parse_email

from .corpus import mail_files

# Mails under 64 KiB keep each example fast; they still cover every folder and structure.
SAMPLES = [p.read_bytes() for p in mail_files() if p.suffix in (".eml", ".box") and p.stat().st_size < 65536]

FUZZ = settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


def _check(raw: bytes) -> None:
    try:
        mail = parse_email(raw, max_attachment_bytes=1024)
    except EmailParseError as error:
        assert error.reason
        return
    assert isinstance(mail, ParsedEmail)
    assert mail.from_address or mail.subject or mail.text
    for value in (
        mail.subject,
        mail.text,
        mail.reply_text,
        mail.html or "",
        mail.from_name or "",
        *mail.to,
        *mail.references,
    ):
        assert "\x00" not in value
        value.encode("utf-8")  # no lone surrogates: storable in PostgreSQL, serialisable to JSON
    for attachment in mail.attachments:
        attachment.filename.encode("utf-8")
        assert attachment.filename and attachment.size >= 0
    assert mail.date is None or mail.date.tzinfo is not None
    automated_reason(mail)  # classification must cope with whatever parse produced


@FUZZ
@given(st.binary(max_size=4096))
def test_arbitrary_bytes(raw: bytes) -> None:
    _check(raw)


_NAMES = st.sampled_from(
    [
        "From",
        "To",
        "Cc",
        "Subject",
        "Date",
        "Message-ID",
        "In-Reply-To",
        "References",
        "Content-Type",
        "Content-Disposition",
        "Content-Transfer-Encoding",
        "MIME-Version",
        "Auto-Submitted",
        "Return-Path",
        "X-Any",
    ]
)
_VALUES = st.one_of(
    st.text(max_size=80),
    st.sampled_from(
        [
            'multipart/mixed; boundary="b"',
            "text/html; charset=x-bogus",
            "=?utf-8?B?w6Q=?=",
            "=?gb2312?q?=FF=FE?=",
            "attachment; filename*=iso-2022-jp''%1B%24B-%21",
            "<a@b> <c@d>",
            '"Jane" <>',
            "base64",
            "quoted-printable",
            "message/rfc822",
            "multipart/report; report-type=delivery-status; boundary=b",
            "Tue, 31 Feb 99999 25:61:00 +9999",
        ]
    ),
)
_BODIES = st.one_of(
    st.binary(max_size=400),
    st.sampled_from(
        [b"--b\nContent-Type: text/plain\n\nhi\n--b--\n", b"--b\n\n--b\nContent-Type: message/rfc822\n\n", b"=E4=\n=XX"]
    ),
)


@FUZZ
@given(st.lists(st.tuples(_NAMES, _VALUES), max_size=12), _BODIES, st.sampled_from([b"\n", b"\r\n"]))
def test_header_shaped_input(fields: list[tuple[str, str]], body: bytes, eol: bytes) -> None:
    head = eol.join(f"{name}: {value}".encode("utf-8", errors="surrogatepass") for name, value in fields)
    _check(head + eol + eol + body)


@st.composite
def _mutated_mail(draw: st.DrawFn) -> bytes:
    raw = bytearray(draw(st.sampled_from(SAMPLES)))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["truncate", "flip", "insert", "delete", "splice"]))
        at = draw(st.integers(0, max(len(raw) - 1, 0)))
        if kind == "truncate":
            del raw[at:]
        elif kind == "flip" and raw:
            raw[at] = draw(st.integers(0, 255))
        elif kind == "insert":
            raw[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif kind == "delete":
            del raw[at : at + draw(st.integers(1, 64))]
        else:  # splice in a piece of another mail (headers into bodies, boundaries into headers)
            other = draw(st.sampled_from(SAMPLES))
            start = draw(st.integers(0, max(len(other) - 1, 0)))
            raw[at:at] = other[start : start + draw(st.integers(1, 512))]
    return bytes(raw)


def test_there_are_samples_to_mutate() -> None:
    assert len(SAMPLES) > 200


@FUZZ
@given(_mutated_mail())
def test_mutated_real_mails(raw: bytes) -> None:
    _check(raw)
