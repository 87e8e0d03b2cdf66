"""Start the whole system on this machine: Kafka, PostgreSQL, schemas, topics, five services.

`make up` and the pytest fixtures both use this module, so what the tests run on
is what an operator runs.
"""

from __future__ import annotations

import functools
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from shared.messaging.kafka import PLAINTEXT, KafkaSecurity, ensure_topics
from shared.migrations import SERVICES, upgrade
from shared.stack.config import StackSettings
from shared.stack.kafka import KafkaBroker, start_kafka
from shared.stack.ports import StackError, distinct_free_ports, log_tail, run_async, terminate_process
from shared.stack.postgres import PostgresServer, start_postgres
from shared.stack.provision import database_url, provision, service_url
from shared.stack.supervisor import Backoff, Supervisor

log = logging.getLogger(__name__)
REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Infrastructure:
    """A reachable Kafka and PostgreSQL, started here or given from outside."""

    bootstrap_servers: str
    admin_url: str
    service_urls: dict[str, str]
    kafka: KafkaBroker | None = None
    postgres: PostgresServer | None = None

    def stop(self) -> None:
        if self.kafka:
            self.kafka.stop()
        if self.postgres:
            self.postgres.stop()


def start_infrastructure(settings: StackSettings, *, fast: bool = False) -> Infrastructure:
    """Start (or reach) Kafka and Postgres, then create schemas, roles, tables and topics."""
    state = settings.state_dir.resolve()
    state.mkdir(parents=True, exist_ok=True)
    kafka = postgres = None
    try:
        if settings.database_url:
            admin_url = settings.database_url
        else:
            postgres = start_postgres(state / "postgres", port=settings.postgres_port, fast=fast)
            admin_url = postgres.admin_url
        if settings.kafka_bootstrap_servers:
            bootstrap = settings.kafka_bootstrap_servers
        else:
            kafka = start_kafka(state / "kafka", port=settings.kafka_port, heap_mb=settings.kafka_heap_mb)
            bootstrap = kafka.bootstrap_servers
        urls = prepare_database(admin_url, settings.db_passwords())
        # a broker started here is plaintext; an external one gets the configured security
        security = KafkaSecurity.from_settings(settings) if settings.kafka_bootstrap_servers else PLAINTEXT
        topics = ensure_topics(
            bootstrap,
            partitions=settings.topic_partitions,
            replication_factor=topic_replication(settings),
            security=security,
        )
        run_async(topics, timeout=60)
    except BaseException:
        for started in (kafka, postgres):
            if started:
                started.stop()
        raise
    return Infrastructure(bootstrap, admin_url, urls, kafka, postgres)


def topic_replication(settings: StackSettings) -> int:
    """TOPIC_REPLICATION_FACTOR on an external cluster; 1 on the broker started here, a single node."""
    if settings.kafka_bootstrap_servers:
        return settings.topic_replication_factor
    if settings.topic_replication_factor > 1:
        log.warning(
            "TOPIC_REPLICATION_FACTOR=%d applies to an external cluster (KAFKA_BOOTSTRAP_SERVERS); "
            "the broker started here is one node, so its topics get 1",
            settings.topic_replication_factor,
        )
    return 1


def prepare_database(admin_url: str, passwords: dict[str, str]) -> dict[str, str]:
    """Provision roles and schemas, run every service's migrations as its own role; returns their URLs."""
    run_async(provision(admin_url, passwords), timeout=60)
    urls = {service: service_url(admin_url, service, passwords[service]) for service in SERVICES}
    for service, url in urls.items():
        upgrade(service, url)
    return urls


@dataclass
class ServiceProcess:
    """One service running as its own OS process (python -m services.<name>)."""

    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    env: dict[str, str] = field(repr=False, default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def poll(self) -> int | None:
        """The exit code once the process has ended, else None."""
        return self.process.poll()

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise StackError(f"{self.name} exited with {self.process.returncode}:\n{log_tail(self.log_path)}")
            try:
                response = httpx.get(f"{self.url}/readyz", timeout=2)
                answered_by = response.json().get("service") if response.status_code == 200 else None
                if answered_by == self.name:
                    return
                # another service on this port (this one could not bind it, and will exit): not ready
                last = f"{answered_by} answered on this port" if answered_by else response.text
            except (httpx.HTTPError, ValueError) as exc:  # ValueError: a 200 that is not our JSON
                last = repr(exc)
            time.sleep(0.2)
        raise StackError(f"{self.name} not ready after {timeout:.0f}s ({last}):\n{log_tail(self.log_path)}")

    def stop(self, timeout: float = 20.0) -> None:
        terminate_process(self.process, signal.SIGTERM, timeout)

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)


def start_service(
    name: str,
    infra: Infrastructure,
    *,
    port: int,
    log_dir: Path,
    extra_env: dict[str, str] | None = None,
    module: str | None = None,
) -> ServiceProcess:
    """Run `python -m services.<name>` (or another `module` serving that service) as its own process."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    env = {
        **os.environ,
        "SERVICE_NAME": name,
        "DATABASE_URL": infra.service_urls[name],
        "KAFKA_BOOTSTRAP_SERVERS": infra.bootstrap_servers,
        "HTTP_HOST": "127.0.0.1",
        "HTTP_PORT": str(port),
        **(extra_env or {}),
    }
    with open(log_path, "ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", module or f"services.{name}"],
            cwd=REPO_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return ServiceProcess(name, port, process, log_path, env)


def start_services(
    infra: Infrastructure,
    ports: dict[str, int],
    *,
    log_dir: Path,
    timeout: float = 60.0,
    extra_env: dict[str, str] | None = None,
) -> list[ServiceProcess]:
    """Start every service and wait until each answers /readyz with 200, naming itself."""
    started = [start_service(name, infra, port=ports[name], log_dir=log_dir, extra_env=extra_env) for name in SERVICES]
    try:
        for service in started:
            service.wait_ready(timeout)
    except BaseException:
        for service in started:
            service.stop()
        raise
    return started


def supervise(
    infra: Infrastructure,
    services: list[ServiceProcess],
    *,
    log_dir: Path,
    extra_env: dict[str, str] | None = None,
    backoff: Backoff | None = None,
    notify: Callable[[str], None] | None = None,
) -> Supervisor:
    """A supervisor that restarts any of `services` on its port when it exits (see shared.stack.supervisor)."""
    supervisor = Supervisor(backoff=backoff, notify=notify)
    for service in services:
        restart = functools.partial(
            start_service, service.name, infra, port=service.port, log_dir=log_dir, extra_env=extra_env
        )
        supervisor.adopt(service.name, service, restart)
    return supervisor


def free_ports() -> dict[str, int]:
    """A port for each service, no two alike."""
    return dict(zip(SERVICES, distinct_free_ports(len(SERVICES)), strict=True))


def admin_database_url(infra: Infrastructure) -> str:
    return database_url(infra.admin_url)
