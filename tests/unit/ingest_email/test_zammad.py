"""Our parse of Zammad's test mails against the parse Zammad itself expects (mailNNN.yml).

Compared: subject, the sender's address, the To and Cc addresses (when given), the
body, and the names of attachments that the mail itself names. The body comparison is
meaningful but tolerant of rendering: whitespace is collapsed, and the expected body's
first lines must each appear in our text. Zammad stores HTML bodies as (sanitised)
HTML; those are compared with our rendering of the mail's HTML, both through
`html_to_text`.

One systematic difference is handled in code rather than per file: Zammad keeps the
text of the HTML <title> in the body; `html_to_text` drops <title> on purpose (it is
the tool's page title: "新建网页 3", "Glückwunschkarte"), so an expected line equal to
the mail's <title> is not looked for.

Every other difference is listed in ALLOWED with the reason. Keep that list short.
"""

from __future__ import annotations

import re
from email.utils import getaddresses
from pathlib import Path
from typing import Any

import pytest

from services.ingest.email import ParsedEmail, html_to_text, parse_email

from .corpus import EMAILS, zammad_expectation

YMLS = sorted((EMAILS / "zammad").glob("*.yml"))

# (file, field) -> why our parse legitimately differs from Zammad's.
ALLOWED: dict[tuple[str, str], str] = {
    (
        "mail016",
        "from",
    ): "no From header at all; Zammad falls back to Reply-To, our from_address is the From header only (reply_to holds the address)",
    ("mail019", "from"): "From is '\"我\" <>' (empty address); same Reply-To fallback as mail016",
    (
        "mail018",
        "subject",
    ): "UTF-7 subject: Zammad leaves it encoded ('+ANw-bermittlungsstatus'), we decode it ('Übermittlungsstatus')",
    ("mail018", "body"): "UTF-7 body: Zammad leaves it encoded ('+APw-ber'), we decode it ('über')",
    (
        "mail020",
        "body",
    ): "spam using &lang;: Python's HTML5 entity table gives U+27E8, Zammad's HTML4 table U+2329/U+3008",
    (
        "mail023",
        "body",
    ): "8-bit GB2312 body with no charset declared: Zammad guesses the charset, we never guess (windows-1252 with replacement)",
    (
        "mail046",
        "subject",
    ): "raw 8-bit GB2312 subject while the only declared charset is iso-8859-1: Zammad guesses, we use the declared one",
    (
        "mail054",
        "body",
    ): "Zammad finds no body because the Content-Type boundary parameter lost its indentation; we repair that header and read 'some text'",
    (
        "mail073",
        "attachments",
    ): "Zammad shows a replacement character in 'Forex Platte ohne W�lbung.jpg'; we decode the RFC 2231 name to 'Wölbung'",
    (
        "mail076",
        "from",
    ): "broken From '\"Millions Lottery Spain transfer\"@example.com>': Zammad keeps the stray '>', we drop it",
    (
        "mail087",
        "from",
    ): "From 'Test test@example.com' without angle brackets: Zammad keeps the whole string, we keep the address",
    (
        "mail087",
        "body",
    ): "the text part after the PDF: Zammad files it as an attachment ('no visible content'), we take it as the body as RFC 2046 get_body does",
    (
        "mail102",
        "attachments",
    ): "the same image twice: Zammad renames the second ('... at 091.00.38.png'), we keep names as sent",
    (
        "mail105",
        "body",
    ): "multipart/mixed whose boundary never occurs: Zammad shows nothing, we show the (quoted-printable decoded) text",
}

BODY_LINES = 8  # how many of the expected body's first non-empty lines must appear
_HTML = re.compile(r"<(?:p|div|br|span|table|b|img|a|center)\b", re.IGNORECASE)
_TITLE = re.compile(r"<title[^>]*>(.*?)</title", re.IGNORECASE | re.DOTALL)
_NO_BODY = "no visible content"  # Zammad's placeholder for an empty body


def _norm(value: str | None) -> str:
    return re.sub(r"\s+", " ", value or "").strip()


def _addresses(value: str) -> set[str]:
    return {address.lower() for _, address in getaddresses([value]) if address}


def _parse(yml: Path) -> tuple[dict[str, Any], ParsedEmail]:
    expected = zammad_expectation(yml)
    return expected, parse_email(yml.with_suffix(".box").read_bytes())


def _differences(expected: dict[str, Any], mail: ParsedEmail) -> dict[str, str]:
    found: dict[str, str] = {}
    if "subject" in expected and _norm(expected["subject"]) != _norm(mail.subject):
        found["subject"] = f"{expected['subject']!r} != {mail.subject!r}"
    if expected.get("from_email") and expected["from_email"].lower() != mail.from_address:
        found["from"] = f"{expected['from_email']!r} != {mail.from_address!r}"
    for field, ours in (("to", mail.to), ("cc", mail.cc)):
        if expected.get(field) and not _addresses(expected[field]) <= set(ours):
            found[field] = f"{expected[field]!r} not within {ours!r}"
    if "body" in expected:
        found.update(_body_difference(expected, mail))
    named = [
        attachment["filename"]
        for attachment in expected.get("attachments") or []
        if isinstance(attachment, dict) and attachment.get("filename") and _named_in_mail(attachment)
    ]
    missing = [filename for filename in named if filename not in {a.filename for a in mail.attachments}]
    if missing:
        found["attachments"] = f"missing {missing}; ours {[a.filename for a in mail.attachments]}"
    return found


def _named_in_mail(attachment: dict[str, Any]) -> bool:
    """Zammad invents names for unnamed parts (message.html, file-1, image.jpg); only
    names that the mail's own Content-Type/Content-Disposition gives are compared."""
    preferences = attachment.get("preferences") or {}
    return any("name" in str(preferences.get(key, "")) for key in ("Content-Type", "Content-Disposition"))


def _body_difference(expected: dict[str, Any], mail: ParsedEmail) -> dict[str, str]:
    body = expected["body"] or ""
    content_type = expected.get("content_type")
    is_html = content_type == "text/html" or (content_type is None and bool(_HTML.search(body)))
    ours = html_to_text(mail.html) if is_html and mail.html else mail.text
    if body == _NO_BODY:
        return {"body": f"expected no body, ours {_norm(ours)[:80]!r}"} if ours.strip() else {}
    if is_html:
        body = html_to_text(body)
    title = _TITLE.search(mail.html or "")
    title_text = _norm(html_to_text(title.group(1))) if title else None
    lines = [_norm(line) for line in body.split("\n") if _norm(line) and _norm(line) != title_text]
    haystack = _norm(ours)
    missing = [line for line in lines[:BODY_LINES] if line not in haystack]
    return {"body": f"missing {missing[0][:80]!r}; ours {haystack[:120]!r}"} if missing else {}


def test_zammad_expectations_are_present() -> None:
    assert len(YMLS) >= 80


@pytest.mark.parametrize("yml", YMLS, ids=[p.stem for p in YMLS])
def test_matches_zammad(yml: Path) -> None:
    expected, mail = _parse(yml)
    differences = _differences(expected, mail)
    unexpected = {field: detail for field, detail in differences.items() if (yml.stem, field) not in ALLOWED}
    assert not unexpected, f"{yml.stem}: {unexpected}"


@pytest.mark.parametrize("key", sorted(ALLOWED), ids=[f"{f}-{k}" for f, k in sorted(ALLOWED)])
def test_allowed_differences_are_still_real(key: tuple[str, str]) -> None:
    """An allow-list entry that no longer differs must be removed, not kept as cover."""
    stem, field = key
    expected, mail = _parse(EMAILS / "zammad" / f"{stem}.yml")
    assert field in _differences(expected, mail), f"{stem}/{field} now matches Zammad: drop it from ALLOWED"


def test_reply_to_holds_the_address_zammad_uses_when_from_is_unusable() -> None:
    for stem in ("mail016", "mail019"):
        expected, mail = _parse(EMAILS / "zammad" / f"{stem}.yml")
        assert mail.from_address is None
        assert expected["from_email"].lower() in mail.reply_to
