"""docker-compose.yml stays in step with the code (every service, its module, ports and schema role) and
scales out: `docker compose up --scale router=3 --scale sla=2` needs no fixed host port or container_name
on the scaled services, and every replica count it documents fits the topics' partitions."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import yaml

from shared.migrations import SERVICES
from shared.stack.config import StackSettings
from shared.stack.provision import role_name

REPO = Path(__file__).resolve().parents[3]
COMPOSE_TEXT = (REPO / "docker-compose.yml").read_text()
COMPOSE = yaml.safe_load(COMPOSE_TEXT)
FIXED_PORTS = yaml.safe_load((REPO / "deploy" / "compose.fixed-ports.yml").read_text())
SCALED = [service for service in SERVICES if service != "ingest"]  # ingest is the one entry point


def test_every_service_runs_its_own_module_with_its_own_database_role() -> None:
    for service in SERVICES:
        spec = COMPOSE["services"][service]
        assert spec["command"] == ["python", "-m", f"services.{service}"]
        assert (REPO / "services" / service / "__main__.py").exists()
        assert f"//{role_name(service)}:" in spec["environment"]["DATABASE_URL"]
        assert spec["depends_on"]["setup"]["condition"] == "service_completed_successfully"


def test_ingest_publishes_the_local_default_ports_and_the_overlay_the_others() -> None:
    defaults = StackSettings(_env_file=None)
    assert f"{defaults.port_of('ingest')}:8000" in COMPOSE["services"]["ingest"]["ports"]
    assert f"{defaults.smtp_port}:2525" in COMPOSE["services"]["ingest"]["ports"]
    # deploy/compose.fixed-ports.yml: the fixed ports of `make up`, for one replica of each
    for service in SCALED:
        assert FIXED_PORTS["services"][service]["ports"] == [f"{defaults.port_of(service)}:8000"]


def _host_port(spec: str | int | dict[str, object]) -> str:
    """The host side of a port mapping: '' when Docker picks it (ephemeral) or nothing is published."""
    if isinstance(spec, dict):
        return str(spec.get("published") or "")
    parts = str(spec).split("/")[0].split(":")
    return parts[-2] if len(parts) >= 2 else ""


def test_scaled_services_have_no_fixed_host_port_nor_container_name() -> None:
    for service in SCALED:
        spec = COMPOSE["services"][service]
        assert "container_name" not in spec, service
        for port in spec.get("ports", []):
            assert _host_port(port) == "", f"{service} publishes fixed host port {port}: --scale would clash"
            assert str(port).startswith("127.0.0.1:"), f"{service}: replicas' ports are for ops, loopback only"
    assert not any("container_name" in spec for spec in COMPOSE["services"].values())


def test_every_service_has_a_readiness_healthcheck() -> None:
    for service in SERVICES:
        check = COMPOSE["services"][service]["healthcheck"]
        assert "/readyz" in " ".join(check["test"]), service
        assert check["retries"] >= 1


def test_documented_replica_counts_fit_the_topic_partitions() -> None:
    partitions = int(COMPOSE["services"]["setup"]["environment"]["TOPIC_PARTITIONS"])
    documented = COMPOSE_TEXT + (REPO / "docs" / "scaling.md").read_text()
    counts = {(name, int(n)) for name, n in re.findall(r"--scale (\w+)=(\d+)", documented)}
    assert {name for name, _ in counts} >= {"router", "sla"}, "the scale-out example is documented"
    for name, n in counts:
        assert name in SCALED, f"--scale {name}: not a scalable service"
        assert n <= partitions, f"--scale {name}={n}: replicas beyond {partitions} partitions idle"


def test_kafka_runs_kraft_with_topic_auto_creation_off() -> None:
    env = COMPOSE["services"]["kafka"]["environment"]
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"


def test_the_setup_job_migrates_and_creates_topics() -> None:
    assert "switchboard migrate" in " ".join(COMPOSE["services"]["setup"]["command"])
    assert "switchboard topics" in " ".join(COMPOSE["services"]["setup"]["command"])


def _docker_compose() -> str:
    binary = shutil.which("docker-compose")
    assert binary is not None, "docker-compose is not installed: apt-get install docker-compose (no engine needed)"
    return binary


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    """Debian's docker-compose runs on the system Python: keep this interpreter's paths out of it."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    return subprocess.run([_docker_compose(), *args], capture_output=True, text=True, env=env)


def test_docker_compose_accepts_the_file() -> None:
    """Debian's docker-compose validates the file without an engine; `.ci/run` installs it."""
    result = _run("-f", str(REPO / "docker-compose.yml"), "config", "-q")
    assert result.returncode == 0, result.stderr


def test_docker_compose_resolves_the_scale_out_ports_and_the_fixed_ports_overlay() -> None:
    """What Compose itself makes of the ports: ephemeral loopback ports, plus the overlay's fixed ones."""
    files = ["-f", str(REPO / "docker-compose.yml")]
    plain = _run(*files, "config")
    assert plain.returncode == 0, plain.stderr
    resolved = yaml.safe_load(plain.stdout)["services"]
    for service in SCALED:
        assert "container_name" not in resolved[service]
        assert all(_host_port(port) == "" for port in resolved[service]["ports"]), resolved[service]["ports"]
        assert resolved[service]["healthcheck"]["test"], service
    assert {_host_port(port) for port in resolved["ingest"]["ports"]} == {"8001", "2525"}

    overlay = [*files, "-f", str(REPO / "deploy" / "compose.fixed-ports.yml")]
    merged = _run(*overlay, "config")
    assert merged.returncode == 0, merged.stderr
    resolved = yaml.safe_load(merged.stdout)["services"]
    for service in SCALED:
        assert StackSettings(_env_file=None).port_of(service) in {
            int(_host_port(port)) for port in resolved[service]["ports"] if _host_port(port)
        }
