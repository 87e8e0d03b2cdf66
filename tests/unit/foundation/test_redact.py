"""No key, secret or credential reaches a log line, whichever logger wrote it and wherever it sat."""

from __future__ import annotations

import json
import logging

import pytest
import structlog

from shared.auth.keys import generate_secret
from shared.observability.logging import configure_logging
from shared.observability.redact import redact

KEY = generate_secret("agent")
WHSEC = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '127.0.0.1:5000 - "WebSocket /v1/chats/T-1/stream?api_key=sb_agent_AbC-123_xyz0987654321" [accepted]',
            '127.0.0.1:5000 - "WebSocket /v1/chats/T-1/stream?api_key=[redacted]" [accepted]',
        ),
        ("GET /v1/x?token=abc123&page=2 HTTP/1.1", "GET /v1/x?token=[redacted]&page=2 HTTP/1.1"),
        ("GET /v1/x?a=1&KEY=opaque-value;signature=v1,abc", "GET /v1/x?a=1&KEY=[redacted];signature=[redacted]"),
        ("secrets ['whsec_YmFkLWlucHV0=', 'whsec_b3RoZXI_-']", "secrets ['whsec_[redacted]', 'whsec_[redacted]']"),
        ("Authorization: Bearer eyJhbGciOi.payload.sig", "Authorization: Bearer [redacted]"),
        ("authorization: basic YW55OnNiX2FkbWlu", "authorization: basic [redacted]"),
        ("postgresql://ingest:hunter2@127.0.0.1:5433/sb", "postgresql://ingest:[redacted]@127.0.0.1:5433/sb"),
        ("https://any:sb_platform_zzzzzzzzzzzz@host/v1", "https://any:[redacted]@host/v1"),
        # what must survive: ids, hashes, words that merely contain the names
        ("ticket T-1 key=ticket:T-1 usb_device monkey=1", "ticket T-1 key=ticket:T-1 usb_device monkey=1"),
        ("key_hash 9f86d081884c7d65 for key_id k_123", "key_hash 9f86d081884c7d65 for key_id k_123"),
    ],
)
def test_redact_blanks_credentials_and_keeps_the_rest(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_generated_keys_are_always_recognised() -> None:
    for role in ("admin", "manager", "agent", "platform"):
        secret = generate_secret(role)
        assert redact(f"x {secret} y") == f"x sb_{role}_[redacted] y"


def _lines(captured: str) -> list[dict]:
    return [json.loads(line) for line in captured.splitlines() if line.strip()]


def test_every_log_record_is_redacted_messages_fields_and_tracebacks(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("test", level="INFO", fmt="json")
    stdlib = logging.getLogger("uvicorn.error")
    # earlier tests may have run uvicorn's own logging config in this process: start from plain loggers
    for logger in (logging.getLogger("uvicorn"), stdlib):
        logger.handlers.clear()
        logger.setLevel(logging.NOTSET)
        logger.propagate, logger.disabled = True, False
    stdlib.info('%s - "WebSocket %s" [accepted]', "127.0.0.1:1", f"/v1/stream?api_key={KEY}")
    stdlib.warning("bad source", extra={"secrets": [WHSEC], "header": f"Bearer {KEY}"})
    structlog.get_logger("app").info("issued", api_key=KEY, nested={"urls": [f"https://x:{KEY}@h/"]})
    try:
        raise ValueError(f"insert failed for {WHSEC} and {KEY}")
    except ValueError:
        logging.getLogger("shared.web").exception("unhandled error")
    captured = capsys.readouterr().err
    assert KEY not in captured and WHSEC not in captured and KEY[9:] not in captured
    lines = _lines(captured)
    assert len(lines) == 4
    assert "api_key=[redacted]" in lines[0]["event"]
    assert lines[2]["api_key"] == "[redacted]"
    assert "ValueError: insert failed for whsec_[redacted] and sb_agent_[redacted]" in lines[3]["exception"]
