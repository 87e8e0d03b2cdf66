"""Schemathesis over every service's OpenAPI document: no generated request gets a server error.

The fuzzer writes whatever the schemas allow (rule sets, queues, mailboxes, keys) with the admin
key, so it runs on a broker and database of its own, not the session's shared ones. The budget
is bounded: a few positive and a few negative cases per operation, derandomized so a failure
repeats; every failure is collected and reported together.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.core.result import Ok

from shared.migrations import SERVICES
from shared.stack.config import StackSettings
from shared.stack.local import Infrastructure, ServiceProcess, free_ports, start_infrastructure, start_services
from shared.stack.ports import free_port
from tests.support.api import ADMIN, ADMIN_KEY

pytestmark = pytest.mark.e2e
EXAMPLES_PER_MODE = 8


@pytest.fixture(scope="module")
def own_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ServiceProcess]]:
    state = tmp_path_factory.mktemp("fuzz-stack")
    config = StackSettings(
        state_dir=state, kafka_port=free_port(), postgres_port=free_port(), topic_partitions=1, _env_file=None
    )
    try:
        infra: Infrastructure = start_infrastructure(config, fast=True)
    except Exception as exc:
        pytest.fail(f"the fuzzing stack (Kafka + PostgreSQL) could not start: {exc}", pytrace=False)
    started = start_services(
        infra,
        free_ports(),
        log_dir=Path(state) / "logs",
        extra_env={"BOOTSTRAP_ADMIN_KEY": ADMIN_KEY, "SMTP_PORT": str(free_port())},
    )
    try:
        yield {s.name: s for s in started}
    finally:
        for service in started:
            service.stop()
        infra.stop()


def _cases(operation: Any, mode: GenerationMode, count: int) -> list[Any]:
    found: list[Any] = []

    @settings(max_examples=count, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(st.data())
    def collect(data: st.DataObject) -> None:
        found.append(data.draw(operation.as_strategy(generation_mode=mode)))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            collect()
        except Exception as exc:  # a schema hypothesis cannot satisfy is reported, not hidden
            found.append(exc)
    return found


def _call(session: requests.Session, base: str, case: Any) -> int:
    """Schemathesis serializes the case (JSON, forms, raw bodies) and sends it with requests."""
    try:
        return int(case.call(base_url=base, session=session, headers=dict(ADMIN), timeout=30).status_code)
    except requests.RequestException as exc:  # the server dropped the connection: as bad as a 500
        raise AssertionError(f"{case.method} {case.formatted_path}: {exc!r}") from exc


@pytest.mark.parametrize("service", SERVICES)
def test_no_generated_request_gets_a_server_error(own_stack: dict[str, ServiceProcess], service: str) -> None:
    base = own_stack[service].url
    document = httpx.get(f"{base}/openapi.json", timeout=10).json()
    schema = schemathesis.openapi.from_dict(document)
    schema.config.generation.update(allow_x00=True)  # NUL characters were once 500s (PostgreSQL refuses them)
    failures: list[str] = []
    calls = operations = 0
    with requests.Session() as session:
        for result in schema.get_all_operations():
            assert isinstance(result, Ok), f"{service}: its OpenAPI has an invalid operation: {result.err()}"
            operation = result.ok()
            operations += 1
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                for case in _cases(operation, mode, EXAMPLES_PER_MODE):
                    if isinstance(case, Exception):
                        continue  # hypothesis found no case in this mode (e.g. nothing negative to say)
                    status = _call(session, base, case)
                    calls += 1
                    if status >= 500:
                        failures.append(f"{case.method} {case.formatted_path} -> {status}")
    print(f"{service}: {calls} calls over {operations} operations, {len(failures)} server errors")
    assert operations >= 3 and calls >= operations, f"{service}: {calls} calls for {operations} operations"
    assert not failures, f"{len(failures)} server errors from {service}:\n" + "\n".join(failures[:40])
