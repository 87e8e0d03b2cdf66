"""Dead-letter keys and headers: stored as text PostgreSQL accepts, and given back byte for byte."""

from __future__ import annotations

import pytest

from shared.messaging.deadletter import as_text, from_text


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        (b"ticket-1", "ticket-1"),
        ("caf\u00e9".encode(), "caf\u00e9"),
        (b"a\x00b", "base64:YQBi"),
        (b"\xff\xfe", "base64://4="),
        (b"base64:looks-escaped", "base64:YmFzZTY0Omxvb2tzLWVzY2FwZWQ="),
        (b"", ""),
    ],
)
def test_text_is_kept_readable_and_anything_else_is_escaped_reversibly(raw: bytes, stored: str) -> None:
    assert as_text(raw) == stored
    assert "\x00" not in as_text(raw)
    assert from_text(as_text(raw)) == raw
