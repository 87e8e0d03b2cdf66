"""`switchboard up` heals: a SIGKILLed service comes back on its port while the others keep serving."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import httpx
import pytest

from shared.stack.local import Infrastructure, start_service, supervise
from shared.stack.ports import free_port
from shared.stack.supervisor import Backoff
from tests.support.api import ADMIN_KEY

pytestmark = pytest.mark.integration


def test_a_sigkilled_router_is_restarted_and_ready_again_while_ingest_keeps_answering(
    infra: Infrastructure, stack_dir: Path
):
    env = {"BOOTSTRAP_ADMIN_KEY": ADMIN_KEY, "SMTP_PORT": str(free_port())}
    logs = stack_dir / "logs" / "supervisor"
    started = [
        start_service(name, infra, port=free_port(), log_dir=logs, extra_env=env) for name in ("ingest", "router")
    ]
    ingest, router = started
    for service in started:
        service.wait_ready()
    notes: list[str] = []
    supervisor = supervise(
        infra, started, log_dir=logs, extra_env=env, backoff=Backoff(1.0, 30.0, 60.0), notify=notes.append
    )
    stop = threading.Event()
    thread = threading.Thread(target=supervisor.run, args=(stop.wait, 0.2), daemon=True)
    thread.start()
    try:
        old_pid = router.pid
        os.killpg(old_pid, signal.SIGKILL)

        ingest_answers: list[int] = []
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            ingest_answers.append(httpx.get(f"{ingest.url}/readyz", timeout=5).status_code)
            current = supervisor.current("router")
            if current is not None and current.pid != old_pid:
                try:
                    if httpx.get(f"{router.url}/readyz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
            time.sleep(0.3)
        else:
            pytest.fail(f"the router did not come back within 90 s; supervisor said: {notes}")

        assert supervisor.restarts("router") == 1 and supervisor.restarts("ingest") == 0
        assert notes[0].startswith("router exited with code -9"), notes
        assert set(ingest_answers) == {200}, "ingest kept answering while the router was down"
        assert len(ingest_answers) > 3
    finally:
        stop.set()
        thread.join(timeout=10)
        supervisor.stop_all()
