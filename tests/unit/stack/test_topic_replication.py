"""TOPIC_REPLICATION_FACTOR: validated, and given to every topic `switchboard topics` and the local stack create."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from aiokafka.admin import NewTopic
from pydantic import ValidationError
from typer.testing import CliRunner

from shared.cli import app
from shared.events.topics import ALL_TOPICS
from shared.messaging import kafka
from shared.stack.config import StackSettings
from shared.stack.local import topic_replication


class FakeAdmin:
    """The admin client at the process edge: remembers the topic specs it was asked to create."""

    def __init__(self, existing: tuple[str, ...] = ()) -> None:
        self.existing = list(existing)
        self.created: list[NewTopic] = []

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        pass

    async def list_topics(self) -> list[str]:
        return self.existing

    async def create_topics(self, new_topics: list[NewTopic]) -> None:
        self.created.extend(new_topics)


@pytest.fixture
def admin(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeAdmin:
    fake = FakeAdmin(existing=(ALL_TOPICS[0],))

    def make_admin(*_: Any, **__: Any) -> FakeAdmin:
        return fake

    monkeypatch.setattr(kafka, "make_admin", make_admin)
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    return fake


def _topics(env: dict[str, str]) -> str:
    result = CliRunner().invoke(app, ["topics"], env={"KAFKA_BOOTSTRAP_SERVERS": "kafka.example:9094", **env})
    assert result.exit_code == 0, result.output
    return result.output


def test_switchboard_topics_creates_every_missing_topic_with_the_replication_factor(admin: FakeAdmin) -> None:
    output = _topics({"TOPIC_REPLICATION_FACTOR": "3", "TOPIC_PARTITIONS": "12"})
    assert [t.name for t in admin.created] == list(ALL_TOPICS[1:])  # the existing one is left alone
    assert {(t.num_partitions, t.replication_factor) for t in admin.created} == {(12, 3)}
    assert "replication factor 3" in output


def test_the_default_replication_factor_is_one_for_the_single_local_broker(
    admin: FakeAdmin, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TOPIC_REPLICATION_FACTOR", raising=False)
    _topics({})
    assert admin.created and {t.replication_factor for t in admin.created} == {1}
    assert StackSettings(_env_file=None).topic_replication_factor == 1


@pytest.mark.parametrize("value", ["0", "-1"])
def test_a_replication_factor_below_one_is_refused(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("TOPIC_REPLICATION_FACTOR", value)
    with pytest.raises(ValidationError, match="topic_replication_factor"):
        StackSettings(_env_file=None)


def test_an_external_cluster_gets_the_setting_and_the_broker_started_here_gets_one(
    caplog: pytest.LogCaptureFixture,
) -> None:
    external = StackSettings(kafka_bootstrap_servers="kafka.example:9094", topic_replication_factor=3, _env_file=None)
    assert topic_replication(external) == 3
    with caplog.at_level(logging.WARNING):
        here = StackSettings(kafka_bootstrap_servers=None, topic_replication_factor=3, _env_file=None)
        assert topic_replication(here) == 1
    assert "TOPIC_REPLICATION_FACTOR=3 applies to an external cluster" in caplog.text
