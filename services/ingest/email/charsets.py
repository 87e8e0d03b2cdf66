"""Turn bytes of a declared (or undeclared, or wrong) charset into text, never failing.

Mail in the wild declares charsets Python does not know ("x-unknown", "iso-8859-8-i",
"unicode-1-1-utf-7"), declares the wrong one (8-bit UTF-8 labelled us-ascii), or
carries raw 8-bit bytes in headers. A ticket with a few replacement characters is far
better than a mail we refuse, so every path here ends in a decode that cannot fail.

Order of attempts:
1. the declared charset, strictly (unless it is plain ASCII, which is tried as UTF-8);
2. UTF-8, strictly (the most common truth behind a missing or wrong label);
3. the declared charset with replacement characters, if Python knows it;
4. windows-1252 with replacement (decodes almost any byte; the usual Western legacy).
"""

from __future__ import annotations

import codecs
import re

__all__ = ["decode_bytes", "repair_surrogates", "strip_controls"]

# Labels seen in mail that Python does not know, or knows by a narrower name.
_ALIASES = {
    "iso-8859-8-i": "iso-8859-8",
    "iso-8859-6-i": "iso-8859-6",
    "unicode-1-1-utf-7": "utf-7",
    "x-unicode-1-1-utf-7": "utf-7",
    "iso-gb2312": "gb18030",
    "gb2312": "gb18030",  # senders label GBK/GB18030 text as gb2312; the superset reads both
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "shift_jis": "cp932",  # Windows' Shift-JIS has the extra characters Japanese mail uses
    "x-sjis": "cp932",
    "ks_c_5601-1987": "cp949",
    "euc-kr": "cp949",
    "x-mac-roman": "mac-roman",
    "windows-874": "cp874",
    "tis-620": "cp874",
    "ansi_x3.4-1968": "ascii",
    "x-user-defined": "cp1252",
}
_ASCII = {"ascii", "us-ascii", "646", "us"}
# Codecs that Python lists as text encodings but that are not charsets a mail can be in.
_NOT_CHARSETS = {"undefined", "idna", "punycode", "unicode-escape", "raw-unicode-escape", "mbcs", "oem"}
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _codec_name(charset: str | None) -> str | None:
    """A Python codec name for a MIME charset label, or None if unusable."""
    if not charset or len(charset) > 64:
        return None
    label = charset.strip().strip("\"'").lower()
    if label.startswith("3d"):  # 'charset=3Dutf-8': quoted-printable leaked into the header
        label = label[2:]
    label = _ALIASES.get(label, label)
    if label in _ASCII:
        return "ascii"
    try:
        info = codecs.lookup(label)
    except (LookupError, ValueError, TypeError):
        return None
    if not getattr(info, "_is_text_encoding", True):
        return None
    if info.name in _NOT_CHARSETS:
        return None
    return info.name


# Stricter codecs whose supersets are tried before giving up on the declared charset.
_SUPERSETS = {
    "iso2022_jp": ("iso2022_jp_2004", "iso2022_jp_ext", "iso2022_jp_2"),  # NEC/JIS X 0213 signs (①)
    "euc_jp": ("euc_jis_2004",),
    "big5": ("big5hkscs", "cp950"),
}
# 7-bit codecs: their bytes are also valid UTF-8, so UTF-8 must not be tried before them.
_SEVEN_BIT = {
    "iso2022_jp",
    "iso2022_jp_1",
    "iso2022_jp_2",
    "iso2022_jp_2004",
    "iso2022_jp_3",
    "iso2022_jp_ext",
    "iso2022_kr",
    "utf-7",
    "hz",
}


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Decode ``data`` labelled ``charset``; never raises (see the module doc)."""
    codec = _codec_name(charset)
    declared = codec if codec and codec != "ascii" else None
    if declared:
        for candidate in (declared, *_SUPERSETS.get(declared, ())):
            try:
                return data.decode(candidate)
            except Exception:
                continue
        if declared == "iso2022_jp":
            return _iso2022jp_via_cp932(data)
        if declared in _SEVEN_BIT:
            return _decode_replacing(data, declared)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if declared:
        return _decode_replacing(data, declared)
    return data.decode("cp1252", errors="replace")


def _decode_replacing(data: bytes, codec: str) -> str:
    try:
        return data.decode(codec, errors="replace")
    except Exception:
        return data.decode("cp1252", errors="replace")


def repair_surrogates(value: str, charset: str | None = None) -> str:
    """Undo the stdlib's surrogateescape of raw 8-bit header bytes.

    The parser keeps undecodable header bytes as lone surrogates (U+DC80..U+DCFF); they
    cannot be stored in PostgreSQL or serialised to JSON. We turn them back into bytes
    and decode those as UTF-8 if they are valid UTF-8, else as ``charset`` (the mail's
    body charset: senders that put raw 8-bit text into headers use it there too), else
    as windows-1252.
    """
    if not any("\ud800" <= ch <= "\udfff" for ch in value):
        return value
    try:
        data = value.encode("utf-8", errors="surrogateescape")
    except UnicodeEncodeError:  # surrogates outside the escape range: just replace them
        return value.encode("utf-8", errors="replace").decode("utf-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    codec = _codec_name(charset)
    # Raw 8-bit bytes cannot be in a 7-bit charset: use its usual 8-bit sibling.
    return decode_bytes(data, _EIGHT_BIT_SIBLING.get(codec or "", charset))


_EIGHT_BIT_SIBLING = {
    "iso2022_jp": "cp932",
    "iso2022_jp_2": "cp932",
    "iso2022_jp_ext": "cp932",
    "iso2022_kr": "cp949",
    "hz": "gb18030",
}
_ESCAPE = re.compile(rb"\x1b(\(B|\(J|\(I|\$@|\$B|\$\(D)")


def _iso2022jp_via_cp932(data: bytes) -> str:
    """ISO-2022-JP as Microsoft writes it (CP50220/1): with NEC and IBM extension
    characters (①, ㈱, ...) that Python's strict codecs reject. The JIS X 0208 byte
    pairs are re-coded to Shift-JIS arithmetically and decoded as cp932."""
    out = bytearray()
    mode = b"(B"
    pos = 0
    for match in [*list(_ESCAPE.finditer(data)), None]:
        end = match.start() if match else len(data)
        chunk = data[pos:end]
        if mode in (b"$@", b"$B", b"$(D"):
            for i in range(0, len(chunk) - 1, 2):
                j1, j2 = chunk[i], chunk[i + 1]
                if not (0x21 <= j1 <= 0x7E and 0x21 <= j2 <= 0x7E):
                    out += b"?"
                    continue
                s1 = (j1 + 1) // 2 + (0x70 if j1 <= 0x5E else 0xB0)
                if j1 % 2:
                    s2 = j2 + 0x1F + (1 if j2 >= 0x60 else 0)
                else:
                    s2 = j2 + 0x7E
                out += bytes((s1, s2))
        elif mode == b"(I":  # JIS X 0201 half-width katakana
            out += bytes(b + 0x80 if 0x21 <= b <= 0x5F else b for b in chunk)
        else:
            out += chunk
        if match:
            mode = match.group(1)
            pos = match.end()
    return out.decode("cp932", errors="replace")


def strip_controls(value: str) -> str:
    """Remove C0 control characters except tab and newline (NUL breaks PostgreSQL text)."""
    return _CONTROLS.sub("", value)
