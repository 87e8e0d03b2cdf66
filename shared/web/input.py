"""Input no layer below can take is refused at the edge, naming the field that carries it.

PostgreSQL text and JSONB reject NUL characters and lone surrogates; the JSON encoder
refuses NaN and Infinity; Python's parser and serializer recurse, so deep nesting exhausts
the stack. `parse_json` checks all of these without recursion and raises `InputError` with
the dotted path of the field (`requester.name`, `tags.1`; `$` is the whole body), so a
request answers 422 instead of failing somewhere deep in a handler with a 500.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

MAX_DEPTH = 32
ROOT = "$"
# a whole JSON string (escapes included), optionally followed by the colon that makes it a key; or a bracket or comma
_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"(\s*:)?|[\[\]{},]', re.DOTALL)
_UNSAFE = re.compile("[\x00\ud800-\udfff]")
_SHOWN_COMPONENTS = 6


class InputError(ValueError):
    """One unacceptable value: where it is (`field`) and what is wrong with it."""

    def __init__(self, field: str, message: str, *, syntax: bool = False) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        # the bytes are not JSON at all (as opposed to JSON carrying a value we refuse)
        self.syntax = syntax


class _Constant:
    """What the parser makes of `NaN`, `Infinity` and `-Infinity`, so the walk can say where they were."""

    def __init__(self, name: str) -> None:
        self.name = name


def field_path(parts: tuple[str | int, ...] | list[str | int]) -> str:
    """`("requester", "name")` -> `requester.name`; long paths are shortened; `()` is the whole body."""
    if not parts:
        return ROOT
    shown = ".".join(str(part) for part in parts[:_SHOWN_COMPONENTS])
    return shown + ("…" if len(parts) > _SHOWN_COMPONENTS else "")


def unsafe_text(value: str) -> str | None:
    """Why PostgreSQL would refuse this text, or None if it takes it."""
    found = _UNSAFE.search(value)
    if found is None:
        return None
    if found.group() == "\x00":
        return "contains a NUL character (\\u0000), which is not accepted"
    return "contains a lone surrogate (\\ud800-\\udfff), which is not valid Unicode"


def parse_json(raw: bytes | str, *, max_depth: int = MAX_DEPTH) -> Any:
    """Parse a JSON document, refusing NUL, lone surrogates, NaN/Infinity and nesting over `max_depth`."""
    if isinstance(raw, bytes):
        try:
            text = raw.decode(json.detect_encoding(raw))
        except UnicodeDecodeError as exc:
            raise InputError(ROOT, f"is not valid UTF-8 (byte {exc.start})", syntax=True) from None
    else:
        text = raw
    check_depth(text, max_depth)
    try:
        value = json.loads(text, parse_constant=_Constant)
    except json.JSONDecodeError as exc:
        raise InputError(
            ROOT, f"is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}", syntax=True
        ) from None
    except (ValueError, RecursionError) as exc:  # e.g. an integer over Python's 4300-digit limit
        raise InputError(ROOT, f"cannot be parsed: {exc}") from None
    check_values(value)
    return value


def check_depth(text: str, max_depth: int) -> None:
    """Raise if containers nest deeper than `max_depth`, naming where; a scan of tokens, no recursion."""
    if text.count("{") + text.count("[") <= max_depth:
        return  # cannot nest that deep: the usual case, and cheap
    # one frame per open container: [key or index of the value being read, is it an array]
    frames: list[list[Any]] = []
    for token in _TOKENS.finditer(text):
        char = token.group()[0]
        if char in "{[":
            if len(frames) == max_depth:
                path = [frame[0] for frame in frames if frame[0] is not None]
                raise InputError(field_path(path), f"is nested deeper than {max_depth} levels")
            frames.append([0 if char == "[" else None, char == "["])
        elif char in "}]":
            if frames:
                frames.pop()
        elif not frames:
            continue
        elif char == ",":
            if frames[-1][1]:
                frames[-1][0] += 1
        elif token.group(1) and not frames[-1][1]:  # a key
            frames[-1][0] = _decode_key(token.group()[: token.start(1) - token.start()])


def _decode_key(quoted: str) -> str:
    try:
        key: str = json.loads(quoted)
    except ValueError:
        return quoted.strip('"')
    return key


def check_values(value: Any) -> None:
    """Raise at the first string, key or number that cannot be stored or encoded (an object's keys before its values)."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(value, ())]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            if problem := unsafe_text(item):
                raise InputError(field_path(path), problem)
        elif isinstance(item, dict):
            for key in item:
                if problem := unsafe_text(key):
                    raise InputError(field_path(path), f"has a key that {problem}")
            stack.extend((child, (*path, key)) for key, child in reversed(item.items()))
        elif isinstance(item, list):
            stack.extend((child, (*path, index)) for index, child in reversed(list(enumerate(item))))
        elif isinstance(item, _Constant):
            raise InputError(field_path(path), f"is {item.name}, which is not a JSON number; send a finite number")
        elif isinstance(item, float) and not math.isfinite(item):
            raise InputError(field_path(path), "is too large to be a finite number")
