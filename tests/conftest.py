"""Session fixtures: the real Kafka broker and PostgreSQL server every integration test uses.

They are started here (or taken from KAFKA_BOOTSTRAP_SERVERS / DATABASE_URL) once per
run. If they cannot start, every test that needs them errors with the reason:
nothing is skipped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from shared.events import topics
from shared.stack.config import StackSettings
from shared.stack.local import (
    Infrastructure,
    ServiceProcess,
    free_ports,
    start_infrastructure,
    start_service,
    start_services,
)
from shared.stack.ports import free_port
from tests.support.api import ADMIN_KEY
from tests.support.kafka import commit_group_at_end

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="session")
def stack_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("stack")


@pytest.fixture(scope="session")
def infra(stack_dir: Path) -> Iterator[Infrastructure]:
    settings = StackSettings(
        state_dir=stack_dir,
        kafka_port=free_port(),
        postgres_port=free_port(),
        topic_partitions=3,
        _env_file=None,
    )
    try:
        infrastructure = start_infrastructure(settings, fast=True)
    except Exception as exc:
        pytest.fail(f"the local stack (Kafka + PostgreSQL) could not start: {exc}", pytrace=False)
    yield infrastructure
    infrastructure.stop()


@pytest.fixture(scope="module")
def sla_from_now(infra: Infrastructure) -> None:
    """The sla service's consumer group starts at the end of its topics for this module: its tests
    send the events they need, and the tickets and routing events of every earlier test (thousands)
    would otherwise be read first, at the pace of a loaded CI machine."""
    asyncio.run(commit_group_at_end(infra.bootstrap_servers, "switchboard-sla", (topics.TICKETS, topics.ROUTING)))


@pytest.fixture(scope="module")
def services(infra: Infrastructure, stack_dir: Path) -> Iterator[dict[str, ServiceProcess]]:
    """All five services as real processes; per module, so chaos tests can own the router alone."""
    started = start_services(
        infra,
        free_ports(),
        log_dir=stack_dir / "logs",
        # the tests' webhook receivers listen on loopback, which escalation refuses unless allowed
        extra_env={"BOOTSTRAP_ADMIN_KEY": ADMIN_KEY, "SMTP_PORT": str(free_port()), "ALLOW_PRIVATE_TARGETS": "true"},
    )
    yield {s.name: s for s in started}
    for service in started:
        service.stop()


StartRouter = Callable[..., ServiceProcess]


@pytest.fixture
def start_router(infra: Infrastructure, stack_dir: Path) -> Iterator[StartRouter]:
    """Start router processes for one test; every one still running is stopped afterwards."""
    started: list[ServiceProcess] = []

    def start(wait: bool = True, **env: str) -> ServiceProcess:
        process = start_service(
            "router",
            infra,
            port=free_port(),
            log_dir=stack_dir / "logs",
            extra_env={"BOOTSTRAP_ADMIN_KEY": ADMIN_KEY, **env},
        )
        started.append(process)
        if wait:
            process.wait_ready()
        return process

    yield start
    for process in started:
        process.stop()
