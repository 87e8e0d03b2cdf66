"""Posted forms read once from bytes, and the error every provider payload check raises.

`parse_form` keeps every value as bytes: SendGrid's `text`/`html` come in the charset its
`charsets` field names, and raw MIME must not go through a text decode at all. A form
holds at most `MAX_FORM_PARTS` parts, so a hostile post cannot make us build a huge list.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from services.ingest.email.charsets import decode_bytes

__all__ = [
    "MAX_FORM_PARTS",
    "FormData",
    "FormPart",
    "ProviderPayloadError",
    "json_field",
    "numbered_files",
    "parse_form",
]

MAX_FORM_PARTS = 1000

_Parsed = TypeVar("_Parsed", dict[str, Any], list[Any])


class ProviderPayloadError(ValueError):
    """The posted payload is not one a mail can be made of; `field` names the culprit."""

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(f"{field}: {detail}")
        self.field = field
        self.detail = detail


@dataclass(frozen=True)
class FormPart:
    name: str
    data: bytes
    filename: str | None = None  # set for file uploads
    content_type: str | None = None  # the part's own Content-Type, if it had one


@dataclass(frozen=True)
class FormData:
    """Every part of a posted form, in order, values as bytes."""

    parts: tuple[FormPart, ...] = ()

    @classmethod
    def of(cls, fields: Mapping[str, str | bytes] | None = None, files: Iterable[FormPart] = ()) -> FormData:
        """Build one by hand (tests, or a caller that already has the fields)."""
        parts = [FormPart(k, v.encode("utf-8") if isinstance(v, str) else v) for k, v in (fields or {}).items()]
        return cls((*parts, *files))

    def get(self, name: str) -> FormPart | None:
        return next((p for p in self.parts if p.name == name), None)

    def all(self, name: str) -> list[FormPart]:
        return [p for p in self.parts if p.name == name]

    def text(self, name: str, charset: str | None = None) -> str | None:
        """The first value of `name` decoded (UTF-8 unless `charset` says otherwise), or None."""
        part = self.get(name)
        return None if part is None else decode_bytes(part.data, charset or "utf-8")

    def files(self) -> list[FormPart]:
        return [p for p in self.parts if p.filename is not None]


def parse_form(body: bytes, content_type: str | None) -> FormData:
    """A multipart/form-data or application/x-www-form-urlencoded body, read once from bytes."""
    mime, params = parse_options_header(content_type or "")
    if mime == b"application/x-www-form-urlencoded":
        try:
            pairs = parse_qsl(body, keep_blank_values=True, max_num_fields=MAX_FORM_PARTS)
        except ValueError as exc:
            raise ProviderPayloadError("body", f"not a valid urlencoded form ({exc})") from None
        return FormData(tuple(FormPart(k.decode("utf-8", "replace"), v) for k, v in pairs))
    if mime != b"multipart/form-data":
        raise ProviderPayloadError(
            "body",
            f"expected multipart/form-data or application/x-www-form-urlencoded, "
            f"not {content_type or 'no Content-Type'}",
        )
    boundary = params.get(b"boundary")
    if not boundary:
        raise ProviderPayloadError("body", "multipart/form-data without a boundary")
    return _Multipart(boundary).parse(body)


def json_field(value: str | None, field: str, expected: type[_Parsed]) -> _Parsed | None:
    """A form field holding JSON of the `expected` shape; None when it is absent or blank."""
    if value is None or not value.strip():
        return None
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError as exc:
        raise ProviderPayloadError(field, f"not valid JSON ({exc.msg})") from None
    except RecursionError:
        raise ProviderPayloadError(field, "JSON nested too deeply") from None
    if not isinstance(parsed, expected):
        raise ProviderPayloadError(field, f"expected a JSON {expected.__name__}")
    return parsed


def numbered_files(form: FormData, pattern: re.Pattern[str]) -> list[tuple[int, FormPart]]:
    """The parts whose name `pattern` matches with a number (`attachment1`...), in number order."""
    numbered = [(int(m.group(1)), p) for p in form.parts if (m := pattern.fullmatch(p.name))]
    return sorted(numbered, key=lambda pair: pair[0])


class _Multipart:
    """Collects the parts python-multipart's callback parser reports."""

    def __init__(self, boundary: bytes) -> None:
        self.boundary = boundary
        self.parts: list[FormPart] = []
        self.headers: list[tuple[bytes, bytes]] = []
        self.data = bytearray()
        self.name = b""
        self.value = b""
        self.ended = False

    def parse(self, body: bytes) -> FormData:
        callbacks: Any = {
            "on_part_begin": self._begin,
            "on_part_data": self._data,
            "on_part_end": self._end,
            "on_header_field": self._name,
            "on_header_value": self._value,
            "on_header_end": self._header,
            "on_end": self._done,
        }
        try:
            MultipartParser(self.boundary, callbacks).write(body)
        except ProviderPayloadError:
            raise
        except (FormParserError, ValueError) as exc:
            raise ProviderPayloadError("body", f"not valid multipart/form-data ({exc})") from None
        if not self.ended:
            raise ProviderPayloadError("body", "multipart/form-data is truncated (no closing boundary)")
        return FormData(tuple(self.parts))

    def _begin(self) -> None:
        self.headers, self.data = [], bytearray()

    def _data(self, data: bytes, start: int, end: int) -> None:
        self.data += data[start:end]

    def _name(self, data: bytes, start: int, end: int) -> None:
        self.name += data[start:end]

    def _value(self, data: bytes, start: int, end: int) -> None:
        self.value += data[start:end]

    def _header(self) -> None:
        self.headers.append((self.name.strip().lower(), self.value.strip()))
        self.name, self.value = b"", b""

    def _end(self) -> None:
        if len(self.parts) >= MAX_FORM_PARTS:
            raise ProviderPayloadError("body", f"more than {MAX_FORM_PARTS} form fields")
        headers = dict(self.headers)
        _, options = parse_options_header(headers.get(b"content-disposition", b""))
        if b"name" not in options:
            raise ProviderPayloadError("body", "a form part has no Content-Disposition name")
        filename = options.get(b"filename")
        content_type = headers.get(b"content-type")
        self.parts.append(
            FormPart(
                name=options[b"name"].decode("utf-8", "replace"),
                data=bytes(self.data),
                filename=decode_bytes(filename, "utf-8") if filename is not None else None,
                content_type=content_type.decode("latin-1") if content_type else None,
            )
        )

    def _done(self) -> None:
        self.ended = True
