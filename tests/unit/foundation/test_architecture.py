"""Import rules that keep the services independent and the domain free of I/O."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
SERVICES = ("ingest", "router", "sla", "escalation")
# what pure domain code may import besides the stdlib
DOMAIN_ALLOWED_PREFIXES = ("shared.events", "shared.clock", "pydantic")
STDLIB_IO = {"socket", "asyncio", "subprocess", "sqlite3", "urllib", "http", "smtplib", "ssl"}


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


def _py_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if "migrations" not in p.parts)


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_never_imports_another_service(service: str) -> None:
    others = tuple(f"services.{s}" for s in SERVICES if s != service)
    offenders = [
        f"{path.relative_to(REPO)} imports {name}"
        for path in _py_files(REPO / "services" / service)
        for name in _imports(path)
        if name.startswith(others)
    ]
    assert not offenders, offenders


def test_shared_never_imports_a_service() -> None:
    offenders = [
        f"{path.relative_to(REPO)} imports {name}"
        for path in _py_files(REPO / "shared")
        for name in _imports(path)
        if name.startswith("services")
    ]
    assert not offenders, offenders


# sla and escalation get their domain packages with their own issues
DOMAINS = [s for s in SERVICES if (REPO / "services" / s / "domain").is_dir()]


def test_the_services_built_so_far_have_a_domain_package() -> None:
    assert {"ingest", "router"} <= set(DOMAINS)


@pytest.mark.parametrize("service", DOMAINS)
def test_domain_code_is_pure(service: str) -> None:
    domain = REPO / "services" / service / "domain"
    own = f"services.{service}.domain"
    offenders = []
    for path in _py_files(domain):
        for name in _imports(path):
            top = name.split(".")[0]
            if name.startswith(own) or name.startswith(DOMAIN_ALLOWED_PREFIXES) or name == "__future__":
                continue
            if top in sys.stdlib_module_names and top not in STDLIB_IO:
                continue
            offenders.append(f"{path.relative_to(REPO)} imports {name}")
    assert not offenders, offenders
