"""`switchboard up` heals: a SIGKILLed service comes back on its port while the others keep serving."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import httpx
import pytest

from shared.stack.local import Infrastructure, free_ports, start_service, start_services, supervise
from shared.stack.ports import StackError, free_port, port_open
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


def test_two_services_given_one_port_fail_the_start_and_leave_nothing_running(
    infra: Infrastructure, tmp_path: Path
) -> None:
    """The one that cannot bind exits, seconds later (after its startup and shutdown); until then the
    other answers its readiness checks, naming itself, so the start waits, then fails naming the
    one that exited, and stops the rest. (Before /readyz named its service, the start succeeded.)"""
    ports = free_ports()
    ports["escalation"] = ports["ingest"]
    with pytest.raises(StackError, match=r"(ingest|escalation) exited with"):
        start_services(infra, ports, log_dir=tmp_path, extra_env={"SMTP_PORT": str(free_port())})
    assert not port_open("127.0.0.1", ports["ingest"]), "the service that did bind was stopped"
    assert not port_open("127.0.0.1", ports["router"])
