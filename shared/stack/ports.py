"""Port, process and error helpers shared by the local stack launchers."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import os
import signal
import socket
import subprocess
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

logger = logging.getLogger(__name__)
T = TypeVar("T")


class StackError(RuntimeError):
    """Raised when a local infrastructure component cannot be provisioned or started."""


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port that was free on `host` a moment ago."""
    return distinct_free_ports(1, host)[0]


def distinct_free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """`count` TCP ports that were free on `host` a moment ago, all different: each socket stays bound
    until the last is chosen (ports asked for one after another can repeat, and two services given
    one port left one of them dead while the other answered both readiness checks)."""
    with contextlib.ExitStack() as held:
        socks = [held.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) for _ in range(count)]
        for sock in socks:
            sock.bind((host, 0))
        return [int(sock.getsockname()[1]) for sock in socks]


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """Return True if something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_for_port(host: str, port: int, timeout: float) -> bool:
    """Poll until host:port accepts connections; False if `timeout` seconds pass first."""
    deadline = time.monotonic() + timeout
    while True:
        if port_open(host, port):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)


def log_tail(path: Path, lines: int = 40) -> str:
    """Return the last `lines` lines of a log file, or a note if it cannot be read."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        return f"<no log at {path}: {exc}>"
    return "\n".join(text.splitlines()[-lines:])


def log_errors(path: Path, offset: int = 0, markers: tuple[str, ...] = (" ERROR ", "FATAL"), limit: int = 8) -> str:
    """Return the first `limit` error lines written after byte `offset` (the root cause)."""
    try:
        with path.open("rb") as f:
            f.seek(offset)
            text = f.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    lines = text.splitlines()
    hits: list[str] = []
    for i, line in enumerate(lines):
        if any(m in line for m in markers):
            # The line after a logged error is usually the exception message that names the cause.
            hits.extend(lines[i : i + 2])
    return "\n".join(hits[: 2 * limit])


def terminate_process(process: subprocess.Popen[bytes], sig: signal.Signals, timeout: float) -> None:
    """Send `sig` to a session leader, wait, then SIGKILL its whole group; no-op once exited."""
    if process.poll() is not None:
        return
    try:
        # Only the leader gets the polite signal: it shuts its own children down in order.
        process.send_signal(sig)
        process.wait(timeout=timeout)
        return
    except subprocess.TimeoutExpired:
        logger.warning("pid %s ignored %s for %.0fs; killing it", process.pid, sig.name, timeout)
    # The launchers use start_new_session=True, so the group id equals the leader's pid.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def run_async(coro: Coroutine[Any, Any, T], timeout: float) -> T:
    """Run a coroutine to completion on a private event loop in a worker thread."""
    # A separate thread means this also works when the caller already runs an event loop;
    # the timeout is applied inside the loop so the worker thread never outlives the call.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, asyncio.wait_for(coro, timeout)).result()
