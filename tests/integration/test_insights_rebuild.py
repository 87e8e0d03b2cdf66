"""`switchboard rebuild insights` empties the projections and replays the topics: the same figures after."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from typer.testing import CliRunner

from shared.cli import app
from shared.rebuild import start_rebuild
from shared.stack.local import Infrastructure, ServiceProcess, admin_database_url
from shared.stack.provision import asyncpg_dsn
from tests.support.insights import BASE, EXPECTED_SUMMARY, get, history, publish, range_of, start_insights, summary
from tests.support.kafka import eventually

pytestmark = pytest.mark.integration
OWN = BASE + timedelta(weeks=2)  # a range of its own, apart from test_insights' history
RANGE = range_of(OWN)
QUESTIONS = [
    ("/v1/kpis/volume", {"group_by": "channel", "interval": "hour"}),
    ("/v1/kpis/first-reply", {"group_by": "channel"}),
    ("/v1/kpis/sla", {"group_by": "priority", "interval": "day"}),
    ("/v1/kpis/fcr", {"group_by": "agent"}),
    ("/v1/kpis/occupancy", {"group_by": "agent"}),
    ("/v1/live/queues", {}),
]


@pytest.fixture(scope="module")
def insights(infra: Infrastructure, stack_dir: Path) -> Iterator[ServiceProcess]:
    yield from start_insights(infra, stack_dir)


def answers(base: str) -> list:
    found = []
    for path, params in QUESTIONS:
        response = get(base, path, **({**RANGE, **params} if path.startswith("/v1/kpis") else params))
        assert response.status_code == 200, response.text
        body = response.json()
        if path == "/v1/live/queues":  # the waits grow with the clock; the rest must not change
            body = [{k: v for k, v in q.items() if k != "oldest_wait_s"} for q in body]
        found.append(body)
    return found


def _without_backlog(found: dict) -> dict:
    return {k: v for k, v in found.items() if k != "backlog"}


async def _generation(infra: Infrastructure) -> int:
    conn = await asyncpg.connect(asyncpg_dsn(admin_database_url(infra)))
    try:
        return int(await conn.fetchval("select coalesce(max(generation), 0) from insights.projection_state"))
    finally:
        await conn.close()


async def test_the_figures_after_a_rebuild_equal_those_before(infra, insights) -> None:
    first, second, third = history(OWN)
    await publish(infra.bootstrap_servers, [*first, *second, *third], twice=5)
    # every topic's events the service has seen so far, this history included
    # the backlog also counts older tickets still open (other tests' histories): compare the rest
    expected = {k: v for k, v in EXPECTED_SUMMARY.items() if k != "backlog"}
    await eventually(lambda: _without_backlog(summary(insights.url, RANGE)) == expected, timeout=45)
    before_summary, before = summary(insights.url, RANGE), answers(insights.url)
    generation = await _generation(infra)

    env = {"DATABASE_URL": infra.admin_url, "KAFKA_BOOTSTRAP_SERVERS": infra.bootstrap_servers}
    result = CliRunner().invoke(app, ["rebuild", "insights", "--timeout", "120"], env=env, terminal_width=120)
    assert result.exit_code == 0, result.output
    assert f"replaying into group switchboard-insights-g{generation + 1}" in result.output
    replayed = int(result.output.split("rebuilt from ", 1)[1].split(" records", 1)[0])
    assert replayed >= len(first) + len(second) + len(third)
    assert await _generation(infra) == generation + 1

    # caught up means the new group has committed past every record that was on the topics
    assert summary(insights.url, RANGE) == before_summary
    assert _without_backlog(before_summary) == expected
    assert answers(insights.url) == before


def test_rebuild_refuses_a_service_without_projections() -> None:
    result = CliRunner().invoke(app, ["rebuild", "router"], terminal_width=200)
    assert result.exit_code == 2
    assert "'router' has no projections to rebuild; use one of: insights" in result.output


async def test_a_running_insights_follows_a_rebuild_at_once_by_its_notify(infra, insights) -> None:
    """The generation poll is a safety net of 30 s; the rebuild's NOTIFY moves the consumer within seconds."""
    moved = "projections were rebuilt: moving the consumer to the new group"
    before = insights.log_path.read_text(errors="replace").count(moved)
    started = time.monotonic()
    await start_rebuild(admin_database_url(infra), "insights", datetime.now(UTC))
    await eventually(lambda: insights.log_path.read_text(errors="replace").count(moved) > before, timeout=10)
    assert time.monotonic() - started < 10
