"""The input guard: a pure parser that refuses what PostgreSQL or the encoder cannot take, naming the field."""

from __future__ import annotations

import json
import sys

import pytest

from shared.web.input import InputError, field_path, parse_json


def _deep(depth: int, leaf: str = '"leaf"', key: str = "a") -> str:
    return f'{{"{key}":' * depth + leaf + "}" * depth


@pytest.mark.parametrize(
    ("raw", "field", "message"),
    [
        (json.dumps({"subject": "Print\u0000er"}), "subject", "NUL"),
        (json.dumps({"requester": {"name": "N\u0000"}}), "requester.name", "NUL"),
        (json.dumps({"tags": ["ok", "b\u0000d"]}), "tags.1", "NUL"),
        (json.dumps({"custom_fields": {"k\u0000ey": 1}}), "custom_fields", "key"),
        (json.dumps({"\u0000": 1}), "$", "key"),
        (json.dumps("\u0000"), "$", "NUL"),
        ('{"a": [1, {"b": "\\ud800"}]}', "a.1.b", "surrogate"),
        (json.dumps({"custom_fields": {"score": float("nan")}}), "custom_fields.score", "NaN"),
        ('{"x": [Infinity]}', "x.0", "Infinity"),
        ('{"x": -Infinity}', "x", "-Infinity"),
        ('{"x": {"y": 1e400}}', "x.y", "finite"),
        ('{"n": ' + "9" * 5000 + "}", "$", "digits"),
        (_deep(33), "a.a.a.a.a.a…", "deeper than 32"),
        (_deep(10_000), "a.a.a.a.a.a…", "deeper than 32"),
        ("[" * 33 + "]" * 33, "0.0.0.0.0.0…", "deeper than 32"),
        ('{"c": {"x": ' + _deep(900) + "}}", "c.x.a.a.a.a…", "deeper than 32"),
        # keys with escapes, commas and colons inside strings do not confuse the depth scan
        ('{"a,b": {"c\\":": [[' + "[" * 40 + "]" * 40 + "]]}}", 'a,b.c":.0.0.0.0…', "deeper than 32"),
        ('{"a": 1,\n "b": }', "$", "line 2, column 7"),
        ('{"a": "unterminated}', "$", "line 1, column 7"),
        ("", "$", "line 1, column 1"),
    ],
)
def test_refused_input_names_the_field(raw: str, field: str, message: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_json(raw.encode())
    assert caught.value.field == field
    assert message in caught.value.message


@pytest.mark.parametrize(
    "raw",
    [
        '{"subject": "Printer", "tags": ["a", "b"], "custom_fields": {"score": 1.5, "ok": true, "none": null}}',
        _deep(32),
        "[" * 32 + "]" * 32,
        '{"text": "braces {[ and \\"quotes\\" in strings do not count", "u": "\\u00e9\\ud83d\\ude00"}',
        '"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[ inside a string"',
        "[]",
    ],
)
def test_acceptable_json_parses_to_the_same_value_as_the_stdlib(raw: str) -> None:
    assert parse_json(raw.encode()) == json.loads(raw)


def test_the_depth_limit_is_a_parameter() -> None:
    assert parse_json(_deep(40), max_depth=40) == json.loads(_deep(40))
    with pytest.raises(InputError, match="deeper than 3 levels"):
        parse_json(_deep(4), max_depth=3)


def test_very_deep_input_is_refused_without_reaching_the_recursion_limit() -> None:
    depth = sys.getrecursionlimit() * 20
    with pytest.raises(InputError) as caught:
        parse_json(("[" * depth + "]" * depth).encode())
    assert "nested deeper" in caught.value.message


@pytest.mark.parametrize(
    ("raw", "syntax"),
    [(b"\xff\xfe{", True), (b'{"a" 1}', True), (b'{"a": "\\u0000"}', False), (b'{"a": NaN}', False)],
)
def test_syntax_errors_are_told_apart_from_refused_values(raw: bytes, syntax: bool) -> None:
    with pytest.raises(InputError) as caught:
        parse_json(raw)
    assert caught.value.syntax is syntax


def test_utf16_json_is_understood() -> None:
    assert parse_json('{"a": "é"}'.encode("utf-16")) == {"a": "é"}


@pytest.mark.parametrize(
    ("parts", "shown"),
    [((), "$"), (("requester", "name"), "requester.name"), (("tags", 1), "tags.1"), (("a",) * 7, "a.a.a.a.a.a…")],
)
def test_field_paths_are_dotted_and_shortened(parts: tuple[str | int, ...], shown: str) -> None:
    assert field_path(parts) == shown
