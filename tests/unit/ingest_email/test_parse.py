"""parse_email on small hand-written mails (one behaviour each) and chosen corpus mails."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from services.ingest.domain.inbound import Attachment
from services.ingest.email import EmailParseError, ParsedEmail, parse_email

from .corpus import read

PLAIN = b"""From: Jane Doe <Jane.Doe@Example.COM>
To: Support <support@example.org>, "Sales, EU" <sales@example.org>
Cc: boss@example.com
Reply-To: jane.private@example.net
Delivered-To: inbox@example.org
Delivered-To: support@example.org
X-Original-To: support@example.org
Subject: =?utf-8?q?Drucker_kaputt_=E2=80=93?= bitte
Date: Tue, 07 May 2024 08:45:46 +0200
Message-ID: <abc.123@mail.example.com>
In-Reply-To: <first@example.org>
References: <root@example.org>
 <first@example.org>
Auto-Submitted: no
Precedence: first-class
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Hello,

the printer is broken.

Jane
"""


def test_plain_mail_fields() -> None:
    mail = parse_email(PLAIN)
    assert mail.message_id == "abc.123@mail.example.com"
    assert mail.in_reply_to == ("first@example.org",)
    assert mail.references == ("root@example.org", "first@example.org")
    assert mail.subject == "Drucker kaputt – bitte"
    assert (mail.from_address, mail.from_name) == ("jane.doe@example.com", "Jane Doe")
    assert mail.to == ("support@example.org", "sales@example.org")
    assert mail.cc == ("boss@example.com",)
    assert mail.reply_to == ("jane.private@example.net",)
    assert mail.delivered_to == ("inbox@example.org", "support@example.org")
    assert mail.x_original_to == ("support@example.org",)
    assert mail.date == datetime(2024, 5, 7, 6, 45, 46, tzinfo=UTC)
    assert mail.text == "Hello,\n\nthe printer is broken.\n\nJane"
    assert mail.reply_text == mail.text
    assert mail.html is None
    assert mail.attachments == () and mail.oversized == ()
    assert mail.headers == {
        "auto-submitted": "no",
        "precedence": "first-class",
        "content-type": "text/plain; charset=utf-8",
    }
    assert mail.content_type == "text/plain" and mail.report_type is None
    assert mail.raw_size == len(PLAIN)


def _mime(headers: str, body: str | bytes) -> bytes:
    head = ("From: a@example.com\nSubject: s\nMIME-Version: 1.0\n" + headers).encode()
    return head + b"\n" + (body.encode() if isinstance(body, str) else body)


# --- the parse-error rule -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "empty"),
        (b" \r\n\t\n", "empty"),
        (b"Hello support team,\nmy printer is broken.\n", "no_header_block"),
        (b"\n\n\nJust a body after blank lines\n", "no_header_block"),
        (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "no_header_block"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "no_header_block"),
        (b"From: a@example.com\x00\x00\nSubject: x\n\nbody", "binary_garbage"),
        (b"X:\x01\x02\x03\x04\x05\x06\x07\x08\x0e\x0f\x10\x11\n\nbody", "binary_garbage"),
        (b"Message-ID: <only@example.com>\nDate: Tue, 07 May 2024 08:45:46 +0200\n\n", "no_content"),
        (b"Content-Type: text/plain\n\n \n\x00\n", "no_content"),
    ],
)
def test_not_a_mail(raw: bytes, reason: str) -> None:
    with pytest.raises(EmailParseError) as caught:
        parse_email(raw)
    assert caught.value.reason == reason
    assert isinstance(caught.value, ValueError)


def test_not_bytes() -> None:
    with pytest.raises(EmailParseError) as caught:
        not_bytes: Any = "From: a@example.com\n\nhi"
        parse_email(not_bytes)
    assert caught.value.reason == "not_bytes"


@pytest.mark.parametrize(
    "preamble",
    [
        b"From jane@example.com  Mon May  7 07:45:48 2012\n",  # mbox separator
        b"   \r\n",  # white space before the headers
        b"---- Original email message ----\r\n",  # an archiver's banner line
    ],
)
def test_tolerated_preambles(preamble: bytes) -> None:
    mail = parse_email(preamble + b"From: jane@example.com\nSubject: Hi\n\nbody\n")
    assert (mail.from_address, mail.subject, mail.text) == ("jane@example.com", "Hi", "body")


def test_a_banner_must_be_followed_by_a_real_header_block() -> None:
    with pytest.raises(EmailParseError) as caught:
        parse_email(b"Dear team\nNote: this is a letter, not a mail\n\nthanks")
    assert caught.value.reason == "no_header_block"


def test_bytearray_and_memoryview_are_accepted() -> None:
    assert parse_email(bytearray(PLAIN)).subject == parse_email(memoryview(PLAIN)).subject


# --- headers ------------------------------------------------------------------------------


def test_unindented_continuation_lines_are_repaired() -> None:
    raw = (
        b"Received: from mx.example.com\nby mail.example.org with ESMTP\nfor <s@example.org>;\n"
        b"From: Jane <jane@example.com>\nSubject: Hi\n\nbody\n"
    )
    mail = parse_email(raw)
    assert (mail.from_address, mail.subject, mail.text) == ("jane@example.com", "Hi", "body")


def test_missing_separator_keeps_the_body() -> None:
    mail = parse_email(b"From: jane@example.com\nSubject: Hi\nthis line is the body\n")
    assert mail.subject == "Hi" and "this line is the body" in mail.text


@pytest.mark.parametrize(
    ("header", "subject"),
    [
        ("=?GB2312?B?ztI=?=", "我"),
        ("=?gb2312?B?vqvS5sn6svrJwbvpLMrHy621xNTwyM4=?=", "精益生产闪婚,是谁的责任"),
        ("=?x-unknown?q?caf=E9?=", "café"),  # unknown label: UTF-8, then windows-1252
        ("=?utf-8?q?a?= =?utf-8?q?b?=", "ab"),  # white space between encoded words is dropped
        ("Re: [Ticket#1]   spaced\n\tout", "Re: [Ticket#1] spaced out"),
    ],
)
def test_subject_decoding(header: str, subject: str) -> None:
    assert parse_email(f"From: a@example.com\nSubject: {header}\n\nx".encode()).subject == subject


def test_raw_8bit_headers_use_utf8_then_the_body_charset() -> None:
    utf8 = "From: Jürgen <j@example.com>\nSubject: Grüße\n\nx".encode()
    assert parse_email(utf8).subject == "Grüße"
    assert parse_email(utf8).from_name == "Jürgen"
    latin = "Subject: Grüße\nFrom: j@example.com\nContent-Type: text/plain; charset=iso-8859-1\n\nx".encode("latin-1")
    assert parse_email(latin).subject == "Grüße"
    shift_jis = "Subject: ツール\nFrom: j@example.com\nContent-Type: text/plain; charset=iso-2022-jp\n\nx".encode(
        "cp932"
    )
    assert parse_email(shift_jis).subject == "ツール"


@pytest.mark.parametrize(
    ("value", "address"),
    [
        ('"Clement.Si" <Claudia.Shu@yahoo.com.>', "claudia.shu@yahoo.com."),
        ('"finances@example.com"', "finances@example.com"),
        ("Mail Delivery System <MAILER-DAEMON>", "mailer-daemon"),
        ("<SONY@CHATWOOT.COM>", "sony@chatwoot.com"),
        ("=?utf-8?B?6YO955C5?= <ghgbwum@example.cn>", "ghgbwum@example.cn"),
        ('"Empty" <>', None),
        ("[??????]", None),
    ],
)
def test_from_address(value: str, address: str | None) -> None:
    assert parse_email(f"From: {value}\nSubject: s\n\nx".encode()).from_address == address


def test_second_from_header_is_used_when_the_first_has_no_address() -> None:
    raw = b"From: [??????]\nFrom: =?utf-8?B?6YO955C5?= <ghgbwum@example.cn>\nSubject: s\n\nx"
    mail = parse_email(raw)
    assert (mail.from_address, mail.from_name) == ("ghgbwum@example.cn", "都琹")


def test_message_ids() -> None:
    raw = (
        b"From: a@example.com\nMessage-ID: 000000B9\nIn-Reply-To: <x@y> (Jane's message of Monday)\n"
        b"References: <r1@y>,<r2@y>\n <r1@y> bare@id.example\nSubject: s\n\nx"
    )
    mail = parse_email(raw)
    assert mail.message_id == "000000B9"
    assert mail.in_reply_to == ("x@y",)
    assert mail.references == ("r1@y", "r2@y")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Tue, 07 May 2024 08:45:46 -0000", datetime(2024, 5, 7, 8, 45, 46, tzinfo=UTC)),
        (
            "Tue, 07 May 2024 08:45:46 +0530",
            datetime(2024, 5, 7, 8, 45, 46, tzinfo=timezone(timedelta(hours=5, minutes=30))),
        ),
        ("yesterday", None),
        ("Tue, 07 May 99999 08:45:46 +0000", None),
        ("", None),
    ],
)
def test_date(value: str, expected: datetime | None) -> None:
    mail = parse_email(f"From: a@example.com\nDate: {value}\nSubject: s\n\nx".encode())
    assert mail.date == expected
    if mail.date is not None and expected is not None:
        assert mail.date.utcoffset() == expected.utcoffset()


# --- body -----------------------------------------------------------------------------------

ALTERNATIVE = """Content-Type: multipart/alternative; boundary=alt

--alt
Content-Type: text/plain; charset=utf-8

{plain}
--alt
Content-Type: text/html; charset=utf-8

<html><body><p>Hello <b>HTML</b></p><ul><li>one</li></ul></body></html>
--alt--
"""


def test_plain_part_is_preferred_and_html_is_kept() -> None:
    mail = parse_email(
        _mime(ALTERNATIVE.split("\n\n", 1)[0] + "\n", ALTERNATIVE.split("\n\n", 1)[1].format(plain="Hello plain"))
    )
    assert mail.text == "Hello plain"
    assert mail.html is not None and "<b>HTML</b>" in mail.html
    assert mail.attachments == ()


def test_empty_plain_alternative_falls_back_to_html() -> None:
    head, body = ALTERNATIVE.split("\n\n", 1)
    mail = parse_email(_mime(head + "\n", body.format(plain="  ")))
    assert mail.text == "Hello HTML\n\n- one"


def test_html_only() -> None:
    mail = parse_email(_mime("Content-Type: text/html; charset=utf-8\n", "<div>Hi&nbsp;there<br>second</div>"))
    assert mail.text == "Hi there\nsecond"
    assert mail.html == "<div>Hi&nbsp;there<br>second</div>"


@pytest.mark.parametrize(
    ("charset", "payload", "text"),
    [
        ("x-unknown-charset", "Grüße".encode(), "Grüße"),
        ("x-unknown-charset", "Grüße".encode("latin-1"), "Grüße"),  # windows-1252 as last resort
        ("utf-8", b"caf\xe9 \xff", "caf\ufffd \ufffd"),  # declared charset wins, with replacement
        ("us-ascii", "naïve".encode(), "naïve"),  # 8-bit UTF-8 mislabelled as ASCII
        ("gb2312", "内應力".encode("gb18030"), "内應力"),  # GBK text labelled gb2312
        ("iso-2022-jp", "①１都".encode("cp932").decode("cp932").encode("iso2022_jp_2004"), "①１都"),
        ("base64", b"plain", "plain"),  # not a text codec at all
        ('3D"utf-8"', "ü".encode(), "ü"),  # charset=3D"utf-8": quoted-printable leaked into the header
    ],
)
def test_odd_charsets_decode_with_replacement(charset: str, payload: bytes, text: str) -> None:
    raw = _mime(f"Content-Type: text/plain; charset={charset}\nContent-Transfer-Encoding: 8bit\n", payload)
    assert parse_email(raw).text == text


def test_microsoft_iso_2022_jp_extension_characters() -> None:
    # ESC $ B 0x2D21 is "①" in Microsoft's CP50220, rejected by every strict Python codec.
    payload = b"\x1b$B-!#1ET\x1b(B"
    raw = _mime("Content-Type: text/plain; charset=ISO-2022-JP\n", payload)
    assert parse_email(raw).text == "①１都"


def test_control_characters_never_reach_the_text() -> None:
    mail = parse_email(_mime("Content-Type: text/plain\n", b"a\x00b\x07c\r\nd\te"))
    assert mail.text == "abc\nd\te"


def test_split_body_parts_are_joined() -> None:
    """Apple Mail: text, image, text in one multipart/mixed."""
    body = (
        "--m\nContent-Type: text/plain\n\nfirst\n"
        "--m\nContent-Type: image/png\nContent-Disposition: inline; filename=shot.png\n"
        "Content-Transfer-Encoding: base64\n\niVBORw0KGgo=\n"
        "--m\nContent-Type: text/plain\n\nsecond\n--m--\n"
    )
    mail = parse_email(_mime("Content-Type: multipart/mixed; boundary=m\n", body))
    assert mail.text == "first\n\nsecond"
    assert [a.filename for a in mail.attachments] == ["shot.png"]


# --- attachments ----------------------------------------------------------------------------

RELATED = """--rel
Content-Type: text/html; charset=utf-8

<p>See <img src="cid:logo@x"></p>
--rel
Content-Type: image/png
Content-ID: <logo@x>
Content-Transfer-Encoding: base64

{png}
--rel
Content-Type: application/pdf
Content-Disposition: attachment; filename*=utf-8''Rechnung%20M%C3%A4rz.pdf
Content-Transfer-Encoding: base64

{pdf}
--rel
Content-Type: message/rfc822

From: old@example.com
Subject: The earlier mail

old text
--rel
Content-Type: application/octet-stream
Content-Transfer-Encoding: base64

{blob}
--rel--
"""


def _related(**sizes: int) -> bytes:
    payloads = {k: base64.encodebytes(b"x" * v).decode() for k, v in sizes.items()}
    return _mime("Content-Type: multipart/related; boundary=rel\n", RELATED.format(**payloads))


def test_attachment_metadata() -> None:
    mail = parse_email(_related(png=10, pdf=2000, blob=5))
    assert mail.text == "See"
    assert mail.attachments == (
        Attachment("attachment-1.png", "image/png", 10, content_id="logo@x", inline=True),
        Attachment("Rechnung März.pdf", "application/pdf", 2000, content_id=None, inline=False),
        Attachment("The earlier mail.eml", "message/rfc822", mail.attachments[2].size, None, False),
        Attachment("attachment-4.bin", "application/octet-stream", 5, None, False),
    )
    assert mail.attachments[2].size > 20
    assert mail.oversized == ()


def test_oversized_attachments_are_recorded_with_their_size() -> None:
    mail = parse_email(_related(png=10, pdf=2000, blob=5), max_attachment_bytes=1000)
    assert mail.oversized == ("Rechnung März.pdf",)
    assert mail.has_oversized
    assert [a.size for a in mail.attachments if a.filename == "Rechnung März.pdf"] == [2000]


def test_inline_images_from_the_corpus_keep_their_content_id() -> None:
    mail = parse_email(read("chatwoot/cid_inline_images_without_disposition.eml"))
    (image,) = mail.attachments
    assert (image.content_type, image.content_id, image.inline) == ("image/jpeg", "image001.jpg@test", True)
    mail = parse_email(read("znuny/PostMaster-Test12.box"))  # RFC 2231 names in ISO-2022-JP and UTF-8
    assert "attachment-äöüß-utf8.txt" in [a.filename for a in mail.attachments]


# --- threading (chatwoot reply fixtures) ------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "in_reply_to", "references"),
    [
        (
            "chatwoot/reply.eml",
            ("4e6e35f5a38b4_479f13bb90078178@small-app-01.mail",),
            ("4e6e35f5a38b4_479f13bb90078178@small-app-01.mail",),
        ),
        (
            "chatwoot/multiple_in_reply_to.eml",
            ("4e6e35f5a38b4_479f13bb90078171@small-app-01.mail", "4e6e35f5a38b4_479f13bb90078131@small-app-01.mail"),
            ("4e6e35f5a38b4_479f13bb90078178@small-app-01.mail",),
        ),
        (
            "chatwoot/references.eml",
            ("4e6e35f5a38b4_479f13bb90078178@small-app-01.mail",),
            ("4e6e35f5a38b4_479f13bb90078178@small-app-01.mail", "test-reference-id"),
        ),
        (
            "chatwoot/reply_to.eml",
            ("conversation/6bdc3f4d-0bec-4515-a284-5d916fdde489/messages/123@test.com",),
            ("4e6e35f5a38b4_479f13bb90078178@small-app-01.mail",),
        ),
        (
            "chatwoot/mail_with_quote.eml",
            ("0100017b5d8efc70-c7f18809-aa55-48f6-91fd-b626092ed8b3-000000@email.amazonses.com",),
            (
                "CAFkiBVxGoURoqdkY-O_25F-8b41kb-GWBc6hh4Djd5ynwOikXA@mail.gmail.com",
                "0100017b5d8efc70-c7f18809-aa55-48f6-91fd-b626092ed8b3-000000@email.amazonses.com",
            ),
        ),
    ],
)
def test_threading_headers(name: str, in_reply_to: tuple[str, ...], references: tuple[str, ...]) -> None:
    mail = parse_email(read(name))
    assert (mail.in_reply_to, mail.references) == (in_reply_to, references)
    assert mail.message_id and "<" not in mail.message_id


def test_chatwoot_reply_is_trimmed_to_the_new_text() -> None:
    mail = parse_email(read("chatwoot/mail_with_quote.eml"))
    assert mail.reply_text == "Yes, I am providing you step how to reproduce this issue"
    assert "Any update on this?" in mail.text


def test_bottom_posted_german_reply_keeps_the_answer() -> None:
    mail = parse_email(read("zammad/mail005.box"))
    assert mail.reply_text.startswith("Hallo Martin,")
    assert mail.reply_text.endswith("John & Marc")
    assert ">" not in mail.reply_text and "schrieb" not in mail.reply_text


def test_malformed_recipients_from_chatwoot() -> None:
    assert parse_email(read("chatwoot/mail_with_invalid_to.eml")).to == ("vishnu@chatwoot.com",)
    assert parse_email(read("chatwoot/mail_with_invalid_to_2.eml")).to == ("vishnu@chatwoot.com",)
    assert parse_email(read("chatwoot/malformed_reply_to.eml")).reply_to == ()
    assert parse_email(read("chatwoot/mail_with_uppercase_from.eml")).from_address == "test@chatwoot.com"
    assert parse_email(read("chatwoot/mail_with_no_date.eml")).date is None


def test_parsed_email_is_frozen() -> None:
    mail = parse_email(PLAIN)
    assert isinstance(mail, ParsedEmail)
    with pytest.raises(AttributeError):
        mutable: Any = mail  # what the type checker refuses, the frozen dataclass must refuse too
        mutable.subject = "changed"
