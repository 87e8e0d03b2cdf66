"""/readyz follows the broker: 503 within seconds of it going away, 200 again once it is back."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from shared.messaging.kafka import ensure_topics
from shared.stack.kafka import start_kafka
from shared.stack.local import Infrastructure, start_service
from shared.stack.ports import free_port, run_async
from tests.support.api import ADMIN_KEY

pytestmark = pytest.mark.integration


def _wait_status(url: str, status: int, timeout: float) -> float:
    """Seconds until GET url answers `status`; fails after `timeout`."""
    started = time.monotonic()
    last: int | str | None = None
    while time.monotonic() - started < timeout:
        try:
            last = httpx.get(url, timeout=5).status_code
        except httpx.HTTPError as exc:
            last = repr(exc)
        if last == status:
            return time.monotonic() - started
        time.sleep(0.2)
    pytest.fail(f"{url} did not answer {status} within {timeout}s (last: {last})")


def test_readyz_turns_503_within_seconds_of_a_broker_outage_and_200_after_it(infra: Infrastructure, tmp_path: Path):
    port, controller_port = free_port(), free_port()
    broker = start_kafka(tmp_path / "kafka", port=port, controller_port=controller_port, heap_mb=256, num_partitions=1)
    service = None
    try:
        run_async(ensure_topics(broker.bootstrap_servers, partitions=1), timeout=60)
        own = Infrastructure(broker.bootstrap_servers, infra.admin_url, infra.service_urls)
        service = start_service(
            "sla", own, port=free_port(), log_dir=tmp_path / "logs", extra_env={"BOOTSTRAP_ADMIN_KEY": ADMIN_KEY}
        )
        service.wait_ready()
        ready = f"{service.url}/readyz"

        broker.stop()
        took = _wait_status(ready, 503, timeout=10)
        assert took <= 5.0, f"readiness noticed the outage only after {took:.1f}s"
        body = httpx.get(ready, timeout=5).json()
        assert body["checks"]["kafka"] == "unavailable" and body["checks"]["database"] == "ok"

        broker = start_kafka(
            tmp_path / "kafka", port=port, controller_port=controller_port, heap_mb=256, num_partitions=1
        )
        _wait_status(ready, 200, timeout=60)
    finally:
        if service is not None:
            service.stop()
        broker.stop()
