"""Cut a reply down to what its author wrote this time.

A customer's reply usually carries the whole earlier conversation below (or, when
bottom-posting, above) the new text. Agents and the router want only the new part;
the full body stays available as ``ParsedEmail.text``.

Rules, applied to the plain-text body in this order:

1. Quoted blocks: every line starting with ``>`` is removed, together with the
   attribution line(s) right above the block ("On Mon, ... Jane <j@x> wrote:",
   "Am 07.05.2012 08:10, schrieb ...:", "Le ... a écrit :", "... написал(а):",
   "... さんは書きました:", "<date> <time> Jane <j@x>:", ...; wrapped over up to three
   lines as Gmail does, or over two when a line ends inside an address "Jane <").
   Text after the quote (bottom-posting, inline answers) is kept.
2. Unquoted history (top-posting clients that don't use ``>``): the first of
   - an attribution line in one of the known languages that carries a date or time
     (every client writes one; "Am Montag schrieb ich Ihnen:" is the customer's text),
   - a "-----Original Message-----" style separator (several languages),
   - a quoted header block: a "From:" and a "Sent:"/"Date:" line (either first)
     among five consecutive non-empty lines - Outlook, GMX and Lotus Notes write them
     so, also as Von/Gesendet/Datum, De/Envoyé, Van/Verzonden, От/Отправлено,
     差出人/送信日時, 发件人/发送时间, ... - including the "________" rule or
     "--- Subject ---" line right above it,
   cuts everything from there on. Forwarded messages are *not* cut: a header block
   right after "---------- Forwarded message ---------" / "Begin forwarded message:"
   is what the customer wants us to read.
3. Signature: everything from the first "-- " line (RFC 3676 §4.3; a bare "--" too,
   since HTML conversion and editors strip the trailing space) is dropped, as is a
   trailing "Sent from my iPhone" style line.

If trimming would leave nothing (a mail that is only a quote or only a signature),
the untrimmed text is returned: losing the whole message is worse than showing history.
"""

from __future__ import annotations

import re

__all__ = ["trim_reply"]

_MAX = r".{0,300}?"
# One pattern per language: "<intro> ... <verb>:" on what may be a wrapped line.
_LANGUAGES = (
    rf"On\s{_MAX}\bwrote\s?:",  # English
    rf"Am\s{_MAX}\bschrieb\b{_MAX}:",  # German
    rf"Le\s{_MAX}\ba\sécrit\s?:",  # French
    rf"El\s{_MAX}\bescribió\s?:",  # Spanish
    rf"Op\s{_MAX}\bschreef\b{_MAX}:",  # Dutch
    rf"Il\s{_MAX}\bha\sscritto\s?:",  # Italian
    rf"(?:Em|No\sdia)\s{_MAX}\bescreveu\s?:",  # Portuguese
    rf"(?:Den|På)\s{_MAX}\bskrev\b{_MAX}:",  # Swedish, Danish, Norwegian
    rf"W\sdniu\s{_MAX}\bnapisał(?:\(a\)|a)?\s?:",  # Polish
)
# Attributions with no fixed intro word, so only with a time ("10:02") in them: Russian
# ("6 мая 2024 г., в 10:02, Support <s@x> написал(а):", "06.05.2024 10:02, Support пишет:"),
# Japanese ("2024-05-06 10:02 に Support さんは書きました:", Apple Mail's "... <s@x>のメール:"),
# Chinese ("Support <s@x> 于2024年5月6日周一 10:02写道："), and Gmail's verbless
# "<date> <time> Name <s@x>:" (Russian, Japanese, ...), which must also name a year.
_TIME = r"(?=.*(?<!\d)\d{1,2}:\d{2}(?!\d))"
_YEAR = r"(?=.*(?<!\d)(?:19|20)\d{2}(?!\d))"
_COLON = r"\s?[:：]"
_VERBLESS = (
    rf"{_MAX}\b(?:написал(?:\(а\)|а)?|пишет){_COLON}",  # Russian
    rf"{_MAX}(?:書きました|のメール|のメッセージ){_COLON}",  # Japanese
    rf"{_MAX}写道{_COLON}",  # Chinese
    rf"{_YEAR}{_MAX}<[^<>\s]+@[^<>\s]+>{_COLON}",  # Gmail's "... Name <address>:"
)


def _any(parts: tuple[str, ...]) -> str:
    return "(?:" + "|".join(parts) + ")"


# one lookahead in front of each group, not of each pattern: every lookahead reads the whole line
_TIMED_VERBLESS = _TIME + _any(_VERBLESS)
_DATED_LANGUAGES = (*_LANGUAGES, _TIMED_VERBLESS)
# "Jane <j@x.test> wrote:", "Support さんは書きました:" without the dated intro: only trusted right
# above a '>' block.
_BARE = (
    rf"{_MAX}\b(?:wrote|schrieb|a\sécrit|escribió|schreef|ha\sscritto|escreveu|skrev|написал(?:\(а\)|а)?|пишет)"
    rf"{_COLON}",
    *_VERBLESS,
)


def _anchored(parts: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile(r"^\s*" + _any(parts) + r"\s*$", re.IGNORECASE)


# Above a '>' block, an attribution may be as terse as the client likes.
_LANGUAGE_ATTRIBUTION = _anchored(_DATED_LANGUAGES)
_ATTRIBUTION = _anchored((*_DATED_LANGUAGES, *_BARE))
# With no '>' block to confirm it, a line starts the history only if it is dated (every client
# writes a date or time): "Am Montag schrieb ich Ihnen bereits:" is the customer's own text.
_HISTORY_ATTRIBUTION = _anchored((r"(?=.*\d)" + _any(_LANGUAGES), _TIMED_VERBLESS))
# A wrapped address ("Support Team <" / "support@example.org> wrote:") joins two lines.
_OPEN_ANGLE = re.compile(r"<[^<>]*$")

_ORIGINAL_MESSAGE = re.compile(
    r"^\s*-{2,}\s*(?:Original\s+Message|Original-?\s?Nachricht|Ursprüngliche\s+Nachricht|"
    r"Message\s+d'origine|Mensaje\s+original|Messaggio\s+originale|Oorspronkelijk\s+bericht|"
    r"Oprindelig\s+meddelelse|Ursprungligt\s+meddelande|Mensagem\s+original|Reply\s+message|"
    r"Wiadomość\s+oryginalna|Исходное\s+сообщение|元のメッセージ|原始邮件)"
    r"\s*-{2,}\s*$",
    re.IGNORECASE,
)
_FORWARD = re.compile(
    r"^\s*(?:-{2,}\s*(?:Forwarded\s+message|Weitergeleitete\s+Nachricht|Message\s+transféré|"
    r"Mensaje\s+reenviado|Messaggio\s+inoltrato|Doorgestuurd\s+bericht|Пересылаемое\s+сообщение|"
    r"Пересланное\s+сообщение|転送メッセージ|转发邮件)\s*-{2,}|"
    r"Begin\s+forwarded\s+message\s*:|Anfang\s+der\s+weitergeleiteten\s+Nachricht\s*:)\s*$",
    re.IGNORECASE,
)
# Outlook's header block fields, optionally bold ("*From:*") after HTML conversion; Japanese
# and Chinese clients write a full-width colon, with or without a space after it.
_HDR = r"^\s*\*?(?:{})\s?(?::\*?(?:\s|$)|：)"
_HDR_FROM = re.compile(
    _HDR.format("From|Von|De|Van|Da|Från|Fra|Od|Remitente|От|差出人|送信者|发件人|寄件者"), re.IGNORECASE
)
_HDR_SENT = re.compile(
    _HDR.format(
        "Sent|Date|Gesendet|Datum|Envoyé|Date d'envoi|Verzonden|Enviado|Enviado el|Enviada em|Enviado em|Fecha|"
        "Inviato|Data|Skickat|Sendt|Wysłano|Отправлено|Дата|送信日時|日付|发送时间|日期|寄件日期"
    ),
    re.IGNORECASE,
)
_HDR_TO = re.compile(
    _HDR.format(
        "To|An|À|A|Aan|Para|Till|Til|Do|Subject|Betreff|Objet|Onderwerp|Asunto|Oggetto|Assunto|Ämne|Emne|Temat|"
        "Кому|Тема|宛先|件名|收件人|主题|主旨"
    ),
    re.IGNORECASE,
)
# Outlook's "_____" rule, or a Lotus Notes "Jane Doe --- Subject ---" line, above the block.
_SEPARATOR_LINE = re.compile(r"^\s*(?:_{10,}|.*-{3}.*)\s*$")
_SIGNATURE = re.compile(r"^--\s?$")
_SENT_FROM = re.compile(
    r"^\s*(?:Sent\s+from\s+my\s+\S.{0,40}|Get\s+Outlook\s+for\s+\S.{0,20}|"
    r"Von\s+meinem\s+\S.{0,30}\s+gesendet|Envoyé\s+de\s+mon\s+\S.{0,30}|Enviado\s+desde\s+mi\s+\S.{0,30})\s*$",
    re.IGNORECASE,
)


def _is_quote(line: str) -> bool:
    return line.lstrip().startswith(">")


def _attribution_start(lines: list[str], end: int, *, bare: bool) -> int | None:
    """Index of the first line of an attribution ending at line ``end``, if any.

    Clients wrap long attributions ("On ..., Jane Doe <\njane@x.test> wrote:"), so
    up to three lines are joined. A dated intro in a known language ("On", "Am", ...)
    may span lines; a bare "... wrote:" (only with ``bare``) is one line, or two when the
    first ends inside an address ("Jane <"), so that the sentence above it is never
    taken for part of it.
    """
    dated = _LANGUAGE_ATTRIBUTION if bare else _HISTORY_ATTRIBUTION
    for span in (1, 2, 3):
        start = end - span + 1
        if start < 0:
            break
        window = lines[start : end + 1]
        if any(not line.strip() or _is_quote(line) for line in window):
            break
        if dated.match(" ".join(line.strip() for line in window)):
            return start
    if not bare:
        return None
    above = end - 1
    wrapped = above >= 0 and not _is_quote(lines[above]) and _OPEN_ANGLE.search(lines[above])
    if wrapped and _ATTRIBUTION.match(lines[above].strip() + lines[end].strip()):
        return above
    return end if _ATTRIBUTION.match(lines[end]) else None


def _drop_quoted_blocks(lines: list[str]) -> list[str]:
    keep = [True] * len(lines)
    i = 0
    while i < len(lines):
        if not _is_quote(lines[i]):
            i += 1
            continue
        start = i
        while i < len(lines) and (_is_quote(lines[i]) or not lines[i].strip()):
            i += 1
        for k in range(start, i):
            if _is_quote(lines[k]):
                keep[k] = False
        # The attribution sits right above the block, maybe with blank lines between.
        above = start - 1
        while above >= 0 and not lines[above].strip():
            above -= 1
        if above >= 0:
            first = _attribution_start(lines, above, bare=True)
            if first is not None:
                for k in range(first, start):
                    keep[k] = False
    return [line for line, kept in zip(lines, keep, strict=False) if kept]


def _previous_content(lines: list[str], index: int, reach: int = 3) -> str:
    k, seen = index - 1, 0
    while k >= 0 and seen < reach:
        if lines[k].strip():
            return lines[k]
        k -= 1
        seen += 1
    return ""


def _header_kind(line: str) -> str | None:
    if _HDR_FROM.match(line):
        return "from"
    if _HDR_SENT.match(line):
        return "sent"
    if _HDR_TO.match(line):
        return "to"
    return None


def _outlook_block_at(lines: list[str], i: int) -> bool:
    """Does a quoted header block (From + Sent/Date, in any order) start at line i?

    Outlook writes From/Sent/To/Subject, GMX Sent/From/To/Subject, Lotus Notes
    "Von:" and "Datum:" with "An"/"Betreff" lacking colons: so we ask for a From and
    a date line among the next five non-empty lines, starting with one of them.
    """
    if _header_kind(lines[i]) not in ("from", "sent"):
        return False
    window = [line for line in lines[i : i + 10] if line.strip()][:5]
    kinds = {_header_kind(line) for line in window}
    return "from" in kinds and "sent" in kinds


def _history_start(lines: list[str]) -> int | None:
    for i, line in enumerate(lines):
        if _ORIGINAL_MESSAGE.match(line):
            return i
        if _outlook_block_at(lines, i):
            if _FORWARD.match(_previous_content(lines, i)):
                continue
            previous = i - 1
            while previous >= 0 and not lines[previous].strip():
                previous -= 1
            if previous >= 0 and _SEPARATOR_LINE.match(lines[previous]):
                return previous
            return i
        start = _attribution_start(lines, i, bare=False)
        if start is not None:
            return start
    return None


def _strip_blank_edges(lines: list[str]) -> list[str]:
    start, end = 0, len(lines)
    while end > start and not lines[end - 1].strip():
        end -= 1
    while start < end and not lines[start].strip():
        start += 1
    return lines[start:end]


def trim_reply(text: str) -> str:
    """The new part of a reply: quotes, earlier messages and the signature removed."""
    if not text:
        return ""
    original = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = _drop_quoted_blocks(original.split("\n"))
    cut = _history_start(lines)
    if cut is not None:
        lines = lines[:cut]
    for i, line in enumerate(lines):
        if _SIGNATURE.match(line):
            lines = lines[:i]
            break
    lines = _strip_blank_edges(lines)
    if lines and _SENT_FROM.match(lines[-1]):
        lines = _strip_blank_edges(lines[:-1])
    result = "\n".join(line.rstrip() for line in lines)
    return result if result.strip() else original.strip()
