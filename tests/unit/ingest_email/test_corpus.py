"""Every file of the shared real-mail corpus goes through parse_email without surprises.

The contract under test: a ParsedEmail that carries a sender, a subject or some text,
or EmailParseError with a reason - never any other exception. Zammad's .yml
expectation files are in the walk too: they are not mail, and must be handled the
same way (most of them start with "from: ..." lines and so read as a header block).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from services.ingest.email import EmailParseError, ParsedEmail, parse_email

from .corpus import EMAILS, mail_files, relative

FILES = mail_files()

# Mail files (.box/.eml) that are rejected, and why. Every other mail file must parse.
EXPECTED_REJECTS = {
    # Only MIME headers and an empty body: nothing a ticket could be made of.
    "cpython/msg_18.eml": "no_content",
    # A mailing-list digest's body text saved without its headers.
    "cpython/msg_19.eml": "no_header_block",
    # A parser test case: no headers at all, three parts of made-up types text/x-one/two.
    "cpython/msg_37.eml": "no_content",
}


def test_corpus_is_present() -> None:
    assert EMAILS.is_dir(), f"the shared mail corpus is missing at {EMAILS}"
    assert len(FILES) > 300


@pytest.mark.parametrize("path", FILES, ids=[relative(p) for p in FILES])
def test_every_file_parses_or_is_rejected_with_a_reason(path: Path) -> None:
    name = relative(path)
    try:
        mail = parse_email(path.read_bytes())
    except EmailParseError as error:
        assert error.reason, name
        if path.suffix in (".eml", ".box"):
            assert EXPECTED_REJECTS.get(name) == error.reason, f"{name} rejected: {error}"
        return
    assert isinstance(mail, ParsedEmail)
    assert mail.from_address or mail.subject or mail.text
    assert name not in EXPECTED_REJECTS
    # What ingest stores must be storable: no NUL/controls, no lone surrogates.
    for value in (mail.subject, mail.text, mail.reply_text, mail.from_address or "", *mail.to):
        assert "\x00" not in value
        value.encode("utf-8")  # raises on lone surrogates
    assert mail.raw_size == path.stat().st_size
    assert len(mail.content_hash) == 64
    assert mail.date is None or mail.date.tzinfo is not None
