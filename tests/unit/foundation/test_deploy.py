"""docker-compose.yml stays in step with the code: every service, its module, ports and schema role."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import yaml

from shared.migrations import SERVICES
from shared.stack.config import StackSettings
from shared.stack.provision import role_name

REPO = Path(__file__).resolve().parents[3]
COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())


def test_every_service_runs_its_own_module_with_its_own_database_role() -> None:
    for service in SERVICES:
        spec = COMPOSE["services"][service]
        assert spec["command"] == ["python", "-m", f"services.{service}"]
        assert (REPO / "services" / service / "__main__.py").exists()
        assert f"//{role_name(service)}:" in spec["environment"]["DATABASE_URL"]
        assert spec["depends_on"]["setup"]["condition"] == "service_completed_successfully"


def test_published_ports_match_the_local_defaults() -> None:
    defaults = StackSettings(_env_file=None)
    for service in SERVICES:
        assert f"{defaults.port_of(service)}:8000" in COMPOSE["services"][service]["ports"]
    assert f"{defaults.smtp_port}:2525" in COMPOSE["services"]["ingest"]["ports"]


def test_kafka_runs_kraft_with_topic_auto_creation_off() -> None:
    env = COMPOSE["services"]["kafka"]["environment"]
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"


def test_the_setup_job_migrates_and_creates_topics() -> None:
    assert "switchboard migrate" in " ".join(COMPOSE["services"]["setup"]["command"])
    assert "switchboard topics" in " ".join(COMPOSE["services"]["setup"]["command"])


def test_docker_compose_accepts_the_file() -> None:
    """Debian's docker-compose validates the file without an engine; `.ci/run` installs it."""
    binary = shutil.which("docker-compose")
    assert binary is not None, "docker-compose is not installed: apt-get install docker-compose (no engine needed)"
    result = subprocess.run(
        [binary, "-f", str(REPO / "docker-compose.yml"), "config", "-q"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
