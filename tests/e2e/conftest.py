"""Fixtures of the end-to-end tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.stack.receiver import WebhookReceiver


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[WebhookReceiver]:
    """The demo's webhook receiver, as `make up` runs it (on a port of its own here)."""
    started = WebhookReceiver("127.0.0.1", 0, tmp_path / "webhook-receiver.log").start()
    yield started
    started.stop()
