"""HTML mail bodies to readable plain text, with nothing but the standard library.

Agents and the router read ticket bodies as text, and many mails (Outlook, marketing
tools, web forms) carry only HTML. We do not need a faithful rendering, only the words
in reading order with the line structure a person would expect:

* block elements (p, div, h1-h6, tr, ...) start new lines; p/h*/table/ul/ol/pre/blockquote
  are separated by a blank line;
* ``<br>`` is a hard line break;
* list items become ``- item`` (``1. item`` inside ``<ol>``), indented by nesting level;
* ``<blockquote>`` content is prefixed with ``> `` so that :func:`trim_reply` can drop
  quoted history in HTML-only replies (Gmail and Apple Mail quote that way);
* links keep their text, and the URL in parentheses when it says something the text
  does not (``Docs (https://x.test/docs)``, but ``https://x.test`` only once);
* head (title included: it is the tool's page name, not the message), script, style
  and template contents and comments (Outlook's conditional ``<!--[if mso]>`` blocks)
  are dropped; entities are decoded; runs of whitespace are
  collapsed except inside ``<pre>``.

The parser is `html.parser.HTMLParser`, which never rejects input; the one known way it
can still raise (an unknown ``<![keyword`` marked section) falls back to a crude tag
strip so that callers never see an exception from here.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

__all__ = ["html_to_text"]

# Separated from neighbours by a single line break.
_LINE_BLOCKS = frozenset(
    {
        "address",
        "article",
        "aside",
        "center",
        "dd",
        "details",
        "dialog",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "header",
        "li",
        "main",
        "nav",
        "section",
        "summary",
        "tr",
        "caption",
        "tbody",
        "thead",
        "tfoot",
        "body",
        "html",
    }
)
# Separated from neighbours by a blank line.
_PARAGRAPH_BLOCKS = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol", "pre", "blockquote", "hr"})
# Their text content is never shown to a reader.
_SKIP = frozenset({"script", "style", "title", "template", "head"})
# Tags that the HTML spec says end an (implicitly closed) <head> when they start.
_HEAD_CONTENT = frozenset({"title", "meta", "link", "style", "script", "base", "template", "xml", "noscript"})

# A space that survives whitespace collapsing and line stripping (list indents, <pre>).
# It is a private-use character; any occurrence in the input is removed first.
_KEEP = "\ue000"
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad\x01\x02" + _KEEP))
_WS = re.compile(r"\s+")
_SPACES = re.compile(r" {2,}")


# Block boundaries are written as these tokens, not as newlines, so that nested blocks
# (``</li></ul></div>``) merge into one break instead of piling up blank lines.
_LINE, _PARA = "\x01", "\x02"
_BREAK_RUN = re.compile(r"[ \n]*[\x01\x02][\x01\x02 \n]*")


def _resolve_breaks(match: re.Match[str]) -> str:
    """Newlines for a run of block boundaries and <br>s, as a browser lays them out:
    a <br> right before a block boundary only ends the line ("a<br></div>"), more
    of them add empty lines ("a<br><br><div>"), and a <br> between boundaries is
    an empty line of its own (Gmail's "<div><br></div>")."""
    run = match.group(0)
    first_block = min(i for i in (run.find(_LINE), run.find(_PARA)) if i >= 0)
    wanted = 2 if _PARA in run else 1
    return "\n" * (max(wanted, run.count("\n", 0, first_block)) + run.count("\n", first_block))


def _finish(raw: str, *, keep_markers: bool = False) -> str:
    """Tidy a buffer: resolve breaks, strip each line, collapse spaces and blank-line runs."""
    raw = _BREAK_RUN.sub(_resolve_breaks, raw)
    lines: list[str] = []
    blank = False
    for line in raw.split("\n"):
        line = _SPACES.sub(" ", line).strip(" ")
        if not line:
            if lines and not blank:
                lines.append("")
            blank = True
            continue
        blank = False
        lines.append(line)
    while lines and lines[-1] == "":
        lines.pop()
    text = "\n".join(lines)
    return text if keep_markers else text.replace(_KEEP, " ")


def _comparable_url(value: str) -> str:
    value = value.strip().lower()
    value = re.sub(r"^(https?://|mailto:)", "", value)
    value = re.sub(r"^www\.", "", value)
    return value.rstrip("/")


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        # A stack of output buffers: the bottom one is the document; <a> and
        # <blockquote> push their own so that their text can be post-processed.
        self._buffers: list[list[str]] = [[]]
        self._frames: list[tuple[str, str | None]] = []  # ("a", href) / ("blockquote", None)
        self._skip: list[str] = []
        self._pre = 0
        self._lists: list[list] = []  # [kind, counter]

    # -- output helpers -------------------------------------------------------------
    def _emit(self, text: str) -> None:
        self._buffers[-1].append(text)

    def _break(self, paragraph: bool) -> None:
        self._emit(_PARA if paragraph else _LINE)

    # -- parser callbacks -----------------------------------------------------------
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._skip and self._skip[-1] == "head" and tag not in _HEAD_CONTENT:
            self._skip.pop()  # <head> implicitly ends at the first body element
        if tag in _SKIP:
            self._skip.append(tag)
            return
        if self._skip:
            return
        if tag == "br":
            self._emit("\n")
        elif tag in ("ul", "ol"):
            self._break(not self._lists)  # a nested list continues its item's lines
            self._lists.append([tag, 0])
        elif tag == "li":
            self._break(False)
            if self._lists:
                current = self._lists[-1]
                current[1] += 1
                marker = f"{current[1]}. " if current[0] == "ol" else "- "
                depth = len(self._lists) - 1
            else:
                marker, depth = "- ", 0
            self._emit(_KEEP * (2 * depth) + marker.replace(" ", _KEEP))
        elif tag in ("td", "th"):
            self._emit(" ")
        elif tag == "a":
            href = dict(attrs).get("href")
            self._frames.append(("a", href))
            self._buffers.append([])
        elif tag == "blockquote":
            self._break(True)
            self._frames.append(("blockquote", None))
            self._buffers.append([])
        elif tag in _PARAGRAPH_BLOCKS:
            self._break(True)
            if tag == "pre":
                self._pre += 1
        elif tag in _LINE_BLOCKS:
            self._break(False)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # <br/>, <hr/>, <p/>, <a/>...: treat as an opening tag; only containers need an end.
        self.handle_starttag(tag, attrs)
        if tag in ("a", "blockquote", "ul", "ol", "pre") or tag in _SKIP:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if self._skip:
            if tag in self._skip:
                while self._skip and self._skip.pop() != tag:
                    pass
            return
        if tag in ("ul", "ol"):
            if self._lists:
                self._lists.pop()
            self._break(not self._lists)
        elif tag == "a":
            self._close_frame("a")
        elif tag == "blockquote":
            self._close_frame("blockquote")
        elif tag in _PARAGRAPH_BLOCKS:
            if tag == "pre" and self._pre:
                self._pre -= 1
            self._break(True)
        elif tag in _LINE_BLOCKS:
            self._break(False)

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        data = data.translate(_INVISIBLE)
        if self._pre:
            data = data.replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    ")
            self._emit(data.replace(" ", _KEEP))
        else:
            self._emit(_WS.sub(" ", data))

    # -- frames ------------------------------------------------------------------------
    def _close_frame(self, kind: str) -> None:
        if not any(k == kind for k, _ in self._frames):
            return  # stray end tag
        while self._frames:
            frame_kind, href = self._frames.pop()
            inner = _finish("".join(self._buffers.pop()), keep_markers=True)
            if frame_kind == "a":
                self._emit(self._link_text(inner, href))
            else:
                quoted = "\n".join("> " + line if line else ">" for line in inner.split("\n")) if inner else ""
                self._emit(_PARA + quoted + _PARA)
            if frame_kind == kind:
                return

    @staticmethod
    def _link_text(text: str, href: str | None) -> str:
        href = (href or "").strip()
        if not href or href.startswith("#") or href.lower().startswith("javascript:"):
            return text
        if not text.strip():
            return ""  # image-only links are mostly tracking pixels and logos
        if _comparable_url(href) == _comparable_url(text):
            return text
        shown = href[len("mailto:") :] if href.lower().startswith("mailto:") else href
        if shown.split("?")[0].lower() in text.lower():
            return text
        return f"{text} ({shown})"

    def text(self) -> str:
        self.close()
        while self._frames:
            self._close_frame(self._frames[-1][0])
        return _finish("".join(self._buffers[0]))


def html_to_text(markup: str) -> str:
    """Render an HTML document or fragment as plain text (see the module doc for rules)."""
    if not markup:
        return ""
    parser = _TextExtractor()
    try:
        parser.feed(markup)
        return parser.text()
    except Exception:
        return _crude(markup)


def _crude(markup: str) -> str:
    """Last resort: drop script/style, turn tags into spaces, decode entities."""
    markup = re.sub(r"(?is)<(script|style|title)\b.*?</\1\s*>", " ", markup)
    markup = re.sub(r"(?i)<br\s*/?>|</(p|div|tr|li|h[1-6])\s*>", "\n", markup)
    markup = re.sub(r"(?s)<[^>]*>", " ", markup)
    text = html.unescape(markup).translate(_INVISIBLE)
    return _finish("\n".join(_WS.sub(" ", line) for line in text.splitlines()))
