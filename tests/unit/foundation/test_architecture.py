"""Import and call rules that keep the services independent and the domain free of I/O and hidden inputs."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
SERVICES = ("ingest", "router", "sla", "escalation", "insights")
# what pure domain code may import besides the stdlib
DOMAIN_ALLOWED_PREFIXES = ("shared.events", "shared.clock", "pydantic", "holidays")
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


# what a pure domain never touches: the callers pass `now`, ids and anything read from outside
IO_MODULES = frozenset(
    {
        "aiohttp", "aiokafka", "asyncio", "asyncpg", "fastapi", "http", "httpx", "io", "logging",
        "multiprocessing", "os", "pathlib", "random", "requests", "secrets", "select", "selectors",
        "shutil", "signal", "smtplib", "socket", "sqlalchemy", "sqlite3", "ssl", "starlette",
        "structlog", "subprocess", "sys", "tempfile", "threading", "urllib", "uvicorn",
    }
)  # fmt: skip
HIDDEN_INPUTS = frozenset(
    {
        "datetime.datetime.now", "datetime.datetime.utcnow", "datetime.datetime.today", "datetime.date.today",
        "time.time", "time.time_ns", "time.monotonic", "time.monotonic_ns", "time.perf_counter",
        "uuid.uuid1", "uuid.uuid4", "open", "builtins.open",
    }
)  # fmt: skip


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


def impurities(source: str) -> list[str]:
    """I/O imports, and uses (calls or references, e.g. `default_factory=uuid4`) of clocks, ids, randomness, files."""
    tree = ast.parse(source)
    found: list[str] = []
    aliases: dict[str, str] = {}  # local name -> what it was imported as
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                aliases[alias.asname or alias.name.split(".")[0]] = (
                    alias.name if alias.asname else alias.name.split(".")[0]
                )
                if alias.name.split(".")[0] in IO_MODULES:
                    found.append(f"line {node.lineno}: imports {alias.name}")
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            for alias in node.names:
                aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
            if node.module.split(".")[0] in IO_MODULES:
                found.append(f"line {node.lineno}: imports {node.module}")
    for node in ast.walk(tree):
        if isinstance(node, ast.Name | ast.Attribute) and isinstance(node.ctx, ast.Load):
            dotted = _dotted(node)
            if dotted is None:
                continue
            head, _, rest = dotted.partition(".")
            resolved = ".".join(filter(None, (aliases.get(head, head), rest)))
            if resolved in HIDDEN_INPUTS or resolved.startswith(("random.", "secrets.", "os.")):
                found.append(f"line {node.lineno}: uses {resolved}")
    return sorted(set(found))


@pytest.mark.parametrize("service", DOMAINS)
def test_domain_code_reads_no_clock_ids_randomness_or_files(service: str) -> None:
    offenders = [
        f"{path.relative_to(REPO)} {problem}"
        for path in _py_files(REPO / "services" / service / "domain")
        for problem in impurities(path.read_text())
    ]
    assert not offenders, offenders


@pytest.mark.parametrize(
    "snippet",
    [
        "from datetime import datetime\ndef f():\n    return datetime.now()",
        "import datetime\ntoday = datetime.date.today()",
        "import datetime as dt\nstamp = dt.datetime.utcnow()",
        "from datetime import date as d\ntoday = d.today()",
        "import time\nstarted = time.monotonic()",
        "from time import time\nstarted = time()",
        "from uuid import uuid4\nticket_id = uuid4()",
        "import uuid\nticket_id = str(uuid.uuid1())",
        "from dataclasses import field\nfrom uuid import uuid4\nid: str = field(default_factory=uuid4)",
        "import random\npick = random.choice([1, 2])",
        "from random import choice",
        "with open('rules.json') as f:\n    pass",
        "import sqlalchemy",
        "from sqlalchemy.ext.asyncio import AsyncSession",
        "import asyncpg",
        "from aiokafka import AIOKafkaProducer",
        "import httpx",
        "import socket",
        "import subprocess",
        "import os",
        "from os import environ",
        "from pathlib import Path",
    ],
)
def test_the_purity_check_catches(snippet: str) -> None:
    assert impurities(snippet), f"not caught:\n{snippet}"


@pytest.mark.parametrize(
    "snippet",
    [
        "from datetime import datetime, timedelta\ndef due(now: datetime) -> datetime:\n    return now + timedelta(minutes=30)",
        "import uuid\ndef parse(raw: str) -> uuid.UUID:\n    return uuid.UUID(raw)",
        "def is_open(ticket):\n    return ticket.open",
        "import time\ndef seconds(t: time.struct_time) -> int:\n    return t.tm_sec",
    ],
)
def test_the_purity_check_allows_injected_time_and_plain_values(snippet: str) -> None:
    assert impurities(snippet) == []
