"""html_to_text on markup the way mail clients and tools write it."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.ingest.email import html_to_text

CASES = {
    "paragraphs and line breaks": ("<p>Hello</p><p>World<br>again</p>", "Hello\n\nWorld\nagain"),
    "divs are lines": ("<div>one</div><div>two</div><div><br></div><div>three</div>", "one\ntwo\n\nthree"),
    "nested blocks do not pile up blank lines": ("<div><div><p>a</p></div></div><div><p>b</p></div>", "a\n\nb"),
    "whitespace collapsed": ("<p>  lots   of\n\n  space\t here </p>", "lots of space here"),
    "entities": ("<p>Fish &amp; Chips &lt;3 &euro;5&nbsp;only &#8211; &#x263A;</p>", "Fish & Chips <3 €5 only – ☺"),
    "script style head title dropped": (
        "<html><head><title>Newsletter</title><style>p{color:red}</style></head>"
        "<body><script>var a = '<p>no</p>';</script><p>Visible</p></body></html>",
        "Visible",
    ),
    "outlook conditional comments dropped": (
        "<!--[if gte mso 9]><xml><o:OfficeDocumentSettings/></xml><![endif]--><p class=MsoNormal>Hi<o:p></o:p></p>",
        "Hi",
    ),
    "unordered list": ("<ul><li>one</li><li>two</li></ul>", "- one\n- two"),
    "ordered and nested lists": (
        "<ol><li>first<ul><li>sub</li></ul></li><li>second</li></ol>",
        "1. first\n  - sub\n2. second",
    ),
    "link with different text keeps the url": (
        '<a href="https://example.com/reset">Reset password</a>',
        "Reset password (https://example.com/reset)",
    ),
    "link whose text is the url": ('<a href="https://example.com/">https://example.com</a>', "https://example.com"),
    "mailto link": ('<a href="mailto:jane@example.com">jane@example.com</a>', "jane@example.com"),
    "mailto link with name": ('<a href="mailto:jane@example.com">Jane</a>', "Jane (jane@example.com)"),
    "anchor and image links": ('<a href="#top">Top</a> <a href="https://t.example/px"><img src="x.png"></a>', "Top"),
    "table rows and cells": (
        "<table><tr><td>Name</td><td>Jane</td></tr><tr><td>Seat</td><td>2B</td></tr></table>",
        "Name Jane\nSeat 2B",
    ),
    "pre keeps its layout": ("<p>log:</p><pre>  line 1\n    line 2</pre>", "log:\n\n  line 1\n    line 2"),
    "gmail quote becomes > lines": (
        '<div>Thanks!</div><div class="gmail_quote">On Mon, Jane wrote:<blockquote class="gmail_quote">'
        "<div>Hello<br>there</div></blockquote></div>",
        "Thanks!\nOn Mon, Jane wrote:\n\n> Hello\n> there",
    ),
    "invisible characters removed": ("<p>pre\u200bheader\ufeff text</p>", "preheader text"),
    "unclosed tags": ("<p>one<p>two<div>three", "one\n\ntwo\nthree"),
    "unknown marked section does not raise": ("<p>a</p><![foo[ bar ]]><p>b</p>", None),
    "empty": ("", ""),
}


@pytest.mark.parametrize(("markup", "expected"), CASES.values(), ids=CASES.keys())
def test_html_to_text(markup: str, expected: str | None) -> None:
    text = html_to_text(markup)
    if expected is None:
        assert "a" in text and "b" in text
    else:
        assert text == expected


@settings(max_examples=200, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(list("<>/=\"'&;#!-[] abcdiv p br li ul a href x\n")) | st.characters(), max_size=300
    )
)
def test_never_raises_and_returns_clean_text(markup: str) -> None:
    text = html_to_text(markup)
    assert isinstance(text, str)
    assert text == text.strip()
    assert "\n\n\n" not in text
