"""Reading header fields the way real mail needs: one at a time, never failing.

The stdlib header registry is strict and lazy: a single odd header (an RFC 2231 file
name in a charset that does not decode, a broken address list) raises when it is first
touched, possibly deep inside `get_body`. So

* `POLICY` is `email.policy.default` with a registry that falls back to an unstructured
  header, and then to the plain string, when the proper header class cannot parse a
  value. The stdlib's own MIME helpers only need ``str(header)`` to work;
* values are read from ``raw_items()`` and decoded here: raw 8-bit bytes via
  `charsets.repair_surrogates` (with the mail's body charset as a hint), RFC 2047
  encoded words via `email.header.decode_header` plus our charset fallbacks (so that
  "gb2312" subjects decode as GB18030, unknown labels with replacement).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email import policy as email_policy
from email.header import decode_header
from email.headerregistry import HeaderRegistry
from email.message import Message
from email.utils import getaddresses
from typing import Any

from .charsets import decode_bytes, repair_surrogates, strip_controls

__all__ = ["POLICY", "Headers"]


_EXTENDED_PARAM = re.compile(r";\s*[\w.-]+\*[^;]*")


class _TolerantRegistry(HeaderRegistry):
    """HeaderRegistry that degrades instead of raising.

    For Content-Type / Content-Disposition the stdlib needs the proper header class
    (`is_attachment` reads ``.content_disposition``), so we retry without RFC 2231
    extended parameters (the usual culprit; `mime` reads file names from the raw value
    itself), then with the bare type. Other headers fall back to unstructured text.
    """

    # Any, not BaseHeader: the last resort hands back the raw string (still a str, which is
    # all the policy needs), and a narrower return type would not match the base class.
    def __call__(self, name: str, value: str) -> Any:
        candidates = [value]
        if name.lower() in ("content-type", "content-disposition"):
            candidates += [_EXTENDED_PARAM.sub("", value), value.split(";", 1)[0]]
        for candidate in candidates:
            try:
                return super().__call__(name, candidate)
            except Exception:
                continue
        try:
            return super().__call__("x-unparsable", value)
        except Exception:
            return value


POLICY = email_policy.default.clone(header_factory=_TolerantRegistry())

_WS = re.compile(r"\s+")
_ANGLE_ID = re.compile(r"<([^<>]*)>")
_EMAILISH = re.compile(r"[^\s<>\"'(),;:@\[\]]+@[^\s<>\"'(),;:@\[\]]+")
_HAS_DOMAIN = re.compile(r"@[^@\s]+$")


def clean(value: str, charset: str | None = None) -> str:
    """Text safe to store: 8-bit bytes decoded, control characters removed, stripped."""
    return strip_controls(repair_surrogates(value, charset)).strip()


class Headers:
    """Header access for one message (or part) with its charset hint."""

    def __init__(self, msg: Message, charset_hint: str | None = None) -> None:
        self._msg = msg
        self._charset = charset_hint

    def raw(self, name: str) -> list[str]:
        """Every value of header ``name``, 8-bit bytes decoded, unfolded, stripped."""
        values = []
        for key, value in self._msg.raw_items():
            if key.lower() == name and isinstance(value, str):
                values.append(_WS.sub(" ", clean(value, self._charset)))
        return values

    def first(self, name: str) -> str | None:
        values = self.raw(name)
        return values[0] if values else None

    def text(self, name: str) -> str:
        """An unstructured header (Subject) decoded to text; "" if absent."""
        value = self.first(name)
        return self.decode_words(value) if value else ""

    def decode_words(self, value: str) -> str:
        """Decode RFC 2047 encoded words with our charset fallbacks."""
        try:
            pieces = decode_header(value)
        except Exception:
            pieces = [(str(POLICY.header_factory("subject", value)), None)]
        out = []
        for piece, charset in pieces:
            if isinstance(piece, str):
                out.append(piece)
            elif charset is None:
                try:
                    out.append(piece.decode("raw-unicode-escape"))
                except UnicodeDecodeError:
                    out.append(piece.decode("latin-1"))
            else:
                out.append(decode_bytes(piece, charset))
        return _WS.sub(" ", clean("".join(out), self._charset))

    # -- addresses ----------------------------------------------------------------------
    def addresses(self, name: str, *, every: bool = False) -> list[tuple[str | None, str]]:
        """(display name or None, lower-cased address) pairs, in order, without repeats.

        Only the first header of that name is read unless ``every`` (Delivered-To comes
        once per hop; a second From sometimes carries the only valid address).
        """
        values = self.raw(name)
        if not every:
            values = values[:1]
        found: list[tuple[str | None, str]] = []
        seen: set[str] = set()
        for value in values:
            for display, addr in self._parse_addresses(name, value):
                addr = _normalise_address(addr)
                if not addr or addr in seen:
                    continue
                seen.add(addr)
                found.append((self.decode_words(display) if display else None, addr))
        return [(display or None, addr) for display, addr in found]

    @staticmethod
    def _parse_addresses(name: str, value: str) -> list[tuple[str, str]]:
        """The registry's reading, unless it flagged the header and the lenient
        `getaddresses` finds more real addresses (``"X" <x@y.com.>`` and the like)."""
        strict: list[tuple[str, str]] = []
        defective = True
        try:
            header = POLICY.header_factory(name, value)
            strict = [(a.display_name, a.addr_spec) for a in getattr(header, "addresses", ())]
            defective = bool(getattr(header, "defects", ())) or not hasattr(header, "addresses")
        except Exception:
            pass
        if strict and not defective:
            return strict
        try:
            lenient = [(d, a) for d, a in getaddresses([value]) if a]
        except Exception:
            lenient = []

        def real(pairs: list[tuple[str, str]]) -> int:
            return sum(1 for _, a in pairs if _HAS_DOMAIN.search(a.strip("<>")) and not a.startswith('"'))

        return lenient if real(lenient) > real(strict) else strict

    # -- ids and dates ------------------------------------------------------------------
    def ids(self, name: str) -> tuple[str, ...]:
        """Message ids from In-Reply-To / References, in order, without brackets or repeats."""
        result: list[str] = []
        for value in self.raw(name):
            for ident in _ids(value):
                if ident not in result:
                    result.append(ident)
        return tuple(result)

    def message_id(self) -> str | None:
        value = self.first("message-id")
        if not value:
            return None
        ids = _ids(value)
        if ids:
            return ids[0]
        token = value.strip("<> ")
        return token if token and " " not in token else None

    def date(self) -> datetime | None:
        value = self.first("date")
        if not value:
            return None
        try:
            parsed = POLICY.header_factory("date", value).datetime
        except Exception:
            return None
        if not isinstance(parsed, datetime):
            return None
        if parsed.tzinfo is None:  # RFC 5322 "-0000": the time is UTC, the zone unknown
            parsed = parsed.replace(tzinfo=UTC)
        return parsed


def _normalise_address(addr: str) -> str:
    addr = clean(addr).strip("<>").strip()
    if addr.startswith('"') and addr.endswith('"') and "@" in addr:
        addr = addr[1:-1].strip()  # '"user@host"' written as a display name only
    if re.search(r"\s", addr) and not addr.startswith('"'):
        match = _EMAILISH.search(addr)
        addr = match.group(0) if match else ""
    return addr.lower()


def _ids(value: str) -> list[str]:
    ids = [_WS.sub("", m) for m in _ANGLE_ID.findall(value)]
    if not ids:  # some clients forget the brackets
        ids = [token.strip(",;") for token in value.split() if "@" in token]
    return [i for i in ids if i]
