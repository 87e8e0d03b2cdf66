"""No API key or webhook secret reaches any log, with the services run as real processes.

The run uses keys and secrets the way clients do (headers, `?api_key=` on the chat WebSocket,
HTTP Basic), makes a SQL statement carrying a secret fail (a lock held past `lock_timeout`),
asks /readyz, then reads every log file the run wrote: the services', PostgreSQL's and Kafka's.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from websockets.asyncio.client import connect

from shared.stack.local import Infrastructure, ServiceProcess, admin_database_url, start_service
from shared.stack.ports import free_port
from shared.stack.provision import asyncpg_dsn

pytestmark = pytest.mark.e2e
ADMIN_KEY = f"sb_admin_{secrets.token_urlsafe(24)}"
# a Standard Webhooks secret, and a platform signing key with no recognisable shape (only
# hide_parameters keeps that one out of a failed statement's log line)
WHSEC = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
PLAIN_SECRET = f"zendesk-signing-{secrets.token_hex(16)}"


@pytest.fixture(scope="module")
def log_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("secret-logs")


@pytest.fixture(scope="module")
def ingest(infra: Infrastructure, log_dir: Path) -> Iterator[ServiceProcess]:
    env = {
        "BOOTSTRAP_ADMIN_KEY": ADMIN_KEY,
        "SMTP_PORT": str(free_port()),
        "DB_LOCK_TIMEOUT_S": "0.5",
        "LOG_LEVEL": "DEBUG",
    }
    process = start_service("ingest", infra, port=free_port(), log_dir=log_dir, extra_env=env)
    try:
        process.wait_ready()
        yield process
    finally:
        process.stop()


def _log_files(infra: Infrastructure, log_dir: Path) -> list[Path]:
    files = sorted(log_dir.glob("*.log"))
    for server in (infra.postgres, infra.kafka):
        path = getattr(server, "log_path", None)
        if path is not None and Path(path).is_file():
            files.append(Path(path))
    return files


async def _exercise(url: str, infra: Infrastructure) -> list[str]:
    """Use every credential in the ways that once leaked; returns the secrets used."""
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        issued = await http.post(
            "/v1/api-keys", json={"role": "agent", "name": "log test", "agent_id": "ag-1"}, headers=admin
        )
        assert issued.status_code == 201, issued.text
        agent_key = issued.json()["key"]
        name = f"logs-{uuid.uuid4().hex[:8]}"
        source = {"kind": "zendesk", "secrets": [WHSEC, PLAIN_SECRET]}
        created = await http.put(f"/v1/admin/webhook-sources/{name}", json=source, headers=admin)
        assert created.status_code == 200, created.text

        # the same upsert again, while a lock it needs is held: it fails after lock_timeout, carrying the secrets
        holder = await asyncpg.connect(asyncpg_dsn(admin_database_url(infra)))
        try:
            async with holder.transaction():
                await holder.execute("lock table ingest.webhook_sources in share mode")
                failed = await http.put(f"/v1/admin/webhook-sources/{name}", json=source, headers=admin)
        finally:
            await holder.close()
        assert failed.status_code == 503, failed.text
        assert failed.headers["retry-after"] == "5"

        # keys in query strings, headers and Basic credentials, good and bad
        await http.get(f"/v1/tickets?api_key={agent_key}&limit=1")
        await http.get("/v1/tickets", headers={"X-Api-Key": agent_key})
        await http.get("/v1/tickets", auth=("any", ADMIN_KEY))
        await http.get("/v1/tickets", headers={"Authorization": f"Bearer {agent_key}x"})
        ready = await http.get("/readyz")
        assert ready.status_code == 200, ready.text

    ws_url = url.replace("http://", "ws://")
    for key in (agent_key, ADMIN_KEY):
        with contextlib.suppress(Exception):
            async with connect(f"{ws_url}/v1/chats/T-{uuid.uuid4().hex[:6]}/stream?api_key={key}") as socket:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(socket.recv(), timeout=2)
    return [ADMIN_KEY, agent_key, WHSEC, PLAIN_SECRET]


async def test_no_key_or_secret_appears_in_any_log(
    ingest: ServiceProcess, infra: Infrastructure, log_dir: Path
) -> None:
    used = await _exercise(ingest.url, infra)
    ingest.stop()  # flush and close: everything the process would write is written

    files = _log_files(infra, log_dir)
    written = {path: path.read_text(errors="replace") for path in files}
    service_log = written[log_dir / "ingest.log"]
    # the run did produce the lines that used to leak, so finding nothing below means something
    assert "stream?api_key=[redacted]" in service_log, "uvicorn's WebSocket line should be logged, redacted"
    assert "lock timeout" in service_log and "SQL parameters hidden" in service_log, (
        "the failed upsert should be logged, without its parameters"
    )
    for secret in used:
        # the whole secret, and its body without the prefix (`sb_<role>_`, `whsec_`): the body of a
        # urlsafe key may itself hold "_", so splitting on the last one could leave a 2-letter "secret"
        body = secret.split("_", 2)[-1] if secret.startswith("sb_") else secret.removeprefix("whsec_")
        assert len(body) >= 16, body
        for fragment in {secret, body}:
            leaks = [str(path) for path, content in written.items() if fragment in content]
            assert not leaks, f"a secret ({secret[:9]}...) appears in {leaks}"
