"""Reading decoded JSON defensively: every surprise becomes a PayloadError naming the field.

Adapters wrap the payload in `Obj` and ask for what they need with a type; a field of
the wrong type raises `PayloadError(<dotted path>, <what was expected>)`. Fields that
are merely informative (timestamps, names) are read leniently instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from services.ingest.domain.inbound import PayloadError

ROOT = "$"
T = TypeVar("T")


def join(path: str, key: str | int) -> str:
    return str(key) if path == ROOT else f"{path}.{key}"


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def expected(path: str, what: str, value: Any) -> PayloadError:
    return PayloadError(path, f"expected {what}, got {type_name(value)}")


def ident_of(value: Any, path: str) -> str:
    """A platform id: a non-empty string or an integer (booleans are not ids)."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise expected(path, "a string or integer id", value)
    text = str(value).strip()
    if not text:
        raise PayloadError(path, "must not be empty")
    return text


class Obj:
    """A JSON object and where it sits in the payload, with typed accessors."""

    __slots__ = ("data", "path")

    def __init__(self, data: Any, path: str = ROOT) -> None:
        if not isinstance(data, dict):
            raise expected(path, "a JSON object", data)
        self.data: dict[str, Any] = data
        self.path = path

    def at(self, key: str | int) -> str:
        return join(self.path, key)

    def raw(self, key: str) -> Any:
        return self.data.get(key)

    def has(self, key: str) -> bool:
        return self.data.get(key) is not None

    def obj(self, key: str) -> Obj:
        value = self.data.get(key)
        if value is None:
            raise PayloadError(self.at(key), "required")
        return Obj(value, self.at(key))

    def opt_obj(self, key: str) -> Obj | None:
        value = self.data.get(key)
        return None if value is None else Obj(value, self.at(key))

    def string(self, key: str) -> str:
        """A required, non-blank string."""
        value = self.data.get(key)
        if value is None:
            raise PayloadError(self.at(key), "required")
        if not isinstance(value, str):
            raise expected(self.at(key), "a string", value)
        if not value.strip():
            raise PayloadError(self.at(key), "must not be empty")
        return value

    def opt_string(self, key: str) -> str | None:
        """A string or null/absent; blank strings read as None."""
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise expected(self.at(key), "a string", value)
        return value if value.strip() else None

    def ident(self, key: str) -> str:
        value = self.data.get(key)
        if value is None:
            raise PayloadError(self.at(key), "required")
        return ident_of(value, self.at(key))

    def opt_ident(self, key: str) -> str | None:
        value = self.data.get(key)
        if value is None or value == "":
            return None
        return ident_of(value, self.at(key))

    def boolean(self, key: str, default: bool) -> bool:
        value = self.data.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise expected(self.at(key), "a boolean", value)
        return value

    def array(self, key: str) -> list[Any]:
        """A list; null/absent reads as empty."""
        value = self.data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise expected(self.at(key), "an array", value)
        return value

    def objects(self, key: str) -> list[Obj]:
        return [Obj(item, join(self.at(key), i)) for i, item in enumerate(self.array(key))]

    def tags(self, key: str) -> tuple[str, ...] | None:
        """Tags as a list of strings or one space/comma separated string; None when absent."""
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, str):
            return tuple(t for t in re.split(r"[\s,]+", value) if t)
        if not isinstance(value, list):
            raise expected(self.at(key), "an array of strings", value)
        out = []
        for i, item in enumerate(value):
            if not isinstance(item, str):
                raise expected(join(self.at(key), i), "a string", item)
            if item.strip():
                out.append(item.strip())
        return tuple(out)

    def mapping(self, key: str) -> dict[str, Any] | None:
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise expected(self.at(key), "an object", value)
        return dict(value)


def lookup(table: Mapping[str, T], value: Any) -> T | None:
    """Case- and separator-insensitive lookup of a platform vocabulary word."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return table.get(str(value))
    if not isinstance(value, str):
        return None
    key = re.sub(r"[\s_\-]+", " ", value.strip().lower())
    return table.get(key)


_LONG_FRACTION = re.compile(r"(\.\d{6})\d+")
_FORMATS = ("%Y-%m-%d %H:%M:%S %z", "%Y-%m-%d %H:%M:%S %Z", "%Y-%m-%d %H:%M:%S")


def when(value: Any) -> datetime | None:
    """Best-effort timestamp (unix seconds or ISO-8601-ish text) as an aware datetime; never raises."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        try:
            return datetime.fromtimestamp(value, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return when(int(text))
    iso = _LONG_FRACTION.sub(r"\1", text)
    if iso[-1:] in ("Z", "z"):
        iso = iso[:-1] + "+00:00"
    parsed: datetime | None = None
    try:
        parsed = datetime.fromisoformat(iso)
    except ValueError:
        for fmt in _FORMATS:
            try:
                parsed = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
    if parsed is None:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def first_line(text: str, limit: int = 120) -> str:
    """A subject made from a message body, for platforms whose conversations have none."""
    for line in text.splitlines():
        line = line.strip()
        if line:
            return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"
    return ""


def nonblank(*values: str | None) -> str | None:
    for value in values:
        if value is not None and value.strip():
            return value
    return None


def unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))
