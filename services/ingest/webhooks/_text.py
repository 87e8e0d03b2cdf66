"""HTML to plain text, just enough for ticket bodies (Intercom, Freshdesk, Groove, Front send HTML).

Tags are dropped, block elements and <br> become line breaks, entities are decoded,
<script>/<style> contents vanish. It never raises: on anything the stdlib parser
chokes on, tags are stripped with a regular expression instead.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

_BLOCKS = frozenset(
    {
        "address",
        "article",
        "aside",
        "blockquote",
        "div",
        "dl",
        "dt",
        "dd",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "tr",
        "ul",
    }
)
_LINES = frozenset({"li", "tr", "dt", "dd"})  # start a line, no blank line after
_SKIP = frozenset({"script", "style", "head", "title"})
_TAG = re.compile(r"<[^>]*>")
_SPACES = re.compile(r"[ \t\r\f\v]+")
_BLANK_LINES = re.compile(r"\n{3,}")


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self._skipping += 1
        elif tag == "br" or tag in _BLOCKS:
            self.parts.append("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br" or tag in _BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self._skipping = max(0, self._skipping - 1)
        elif tag in _BLOCKS and tag not in _LINES:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def _tidy(text: str) -> str:
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def html_to_text(markup: str) -> str:
    """Plain text of an HTML fragment; plain text passes through (whitespace tidied)."""
    if "<" not in markup and "&" not in markup:
        return _tidy(markup)
    try:
        collector = _Collector()
        collector.feed(markup)
        collector.close()
        text = "".join(collector.parts)
    except Exception:  # the stdlib parser is lenient, but never let markup break ingest
        text = html.unescape(_TAG.sub(" ", markup))
    return _tidy(text)
