"""Fixtures of the end-to-end tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from shared.stack.demo import AGENTS
from shared.stack.local import ServiceProcess
from shared.stack.receiver import WebhookReceiver
from tests.support.api import ADMIN


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[WebhookReceiver]:
    """The demo's webhook receiver, as `make up` runs it (on a port of its own here)."""
    started = WebhookReceiver("127.0.0.1", 0, tmp_path / "webhook-receiver.log").start()
    yield started
    started.stop()


@pytest.fixture
def demo_agents_go_offline(services: dict[str, ServiceProcess]) -> Iterator[None]:
    """A test that loads the demo configuration (which puts its agents online) leaves them offline, so
    later tests' tickets in triage or billing wait instead of going to a demo agent."""
    yield
    for agent_id in AGENTS:
        httpx.put(
            f"{services['router'].url}/v1/agents/{agent_id}/status",
            json={"status": "offline"},
            headers=ADMIN,
            timeout=10,
        )
