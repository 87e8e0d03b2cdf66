"""Idle cost: CPU the whole stack burns with no traffic at all.

    python -m bench.idle                 # 30 s sample after a 10 s settle
    python -m bench.idle --seconds 60 --hold 600    # then keep it up 10 min (py-spy it)
    python -m bench.idle --no-services --settle 60  # Kafka and PostgreSQL alone: the floor under the services
    python -m bench.idle --threads 10               # and each process's ten busiest threads (Linux)

Starts its own Kafka, PostgreSQL (fsync on, as `make up`) and the five services in a temporary
directory, waits until each answers /readyz and the stack has settled, then samples the user +
system CPU time (psutil) of every service process, the Kafka JVM and every PostgreSQL process
(the postmaster and all its children, backends included) over the window, and prints each as a
percentage of one core, with the total. With `--no-services` no service starts: what the broker and
the database cost with no client at all, the part of the idle figure no service change can remove.
With `--threads N`, each root process's N busiest threads over the same window (names and CPU from
/proc/<pid>/task, so Linux only): where a JVM's or a service's idle time goes, without a profiler.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from shared.stack.config import StackSettings
from shared.stack.local import free_ports, start_infrastructure, start_services
from shared.stack.ports import free_port


@dataclass
class Group:
    """One row of the table: a root process and, optionally, everything under it."""

    label: str
    root: psutil.Process
    children: bool = True
    # pid -> (create time, cpu seconds at first sight, cpu seconds last seen)
    seen: dict[int, tuple[float, float, float]] = field(default_factory=dict)

    def processes(self) -> list[psutil.Process]:
        try:
            found = [self.root, *(self.root.children(recursive=True) if self.children else [])]
        except psutil.NoSuchProcess:
            return []
        return found

    def sample(self, window_start: float) -> None:
        for process in self.processes():
            try:
                with process.oneshot():
                    times = process.cpu_times()
                    created = process.create_time()
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            cpu = float(times.user + times.system)
            first = self.seen.get(process.pid)
            if first is None or first[0] != created:
                # a process born inside the window counts from zero, one already running from now
                start = 0.0 if created >= window_start else cpu
                self.seen[process.pid] = (created, start, cpu)
            else:
                self.seen[process.pid] = (created, first[1], cpu)

    def cpu_seconds(self) -> float:
        return sum(last - first for _, first, last in self.seen.values())


def thread_times(pid: int) -> dict[int, tuple[str, int]]:
    """Each thread of `pid`: its name and its user + system CPU in clock ticks, from /proc (Linux)."""
    found: dict[int, tuple[str, int]] = {}
    task_dir = Path(f"/proc/{pid}/task")
    for task in task_dir.iterdir() if task_dir.exists() else ():
        try:
            found[int(task.name)] = parse_stat((task / "stat").read_text())
        except (FileNotFoundError, ProcessLookupError, ValueError):
            continue  # the thread ended between the listing and the read
    return found


def parse_stat(line: str) -> tuple[str, int]:
    """(name, utime + stime) from a /proc stat line; the name is in parentheses and may hold both."""
    name = line[line.index("(") + 1 : line.rindex(")")]
    fields = line[line.rindex(")") + 2 :].split()
    return name, int(fields[11]) + int(fields[12])  # fields 14 and 15 of proc(5), counted from 1


def busiest_threads(
    before: dict[int, tuple[str, int]], after: dict[int, tuple[str, int]], seconds: float, top: int, hz: int
) -> list[tuple[str, int, float]]:
    """(name, tid, % of one core) of the `top` threads that used most CPU between two readings; a thread
    born in between counts from zero."""
    used = [
        (name, tid, (ticks - before.get(tid, (name, 0))[1]) / hz / seconds * 100)
        for tid, (name, ticks) in after.items()
    ]
    return sorted((t for t in used if t[2] > 0), key=lambda t: (-t[2], t[1]))[:top]


def sample(groups: list[Group], seconds: float, step: float = 0.5) -> float:
    """Sample every group over `seconds`; returns the wall time the window took."""
    started = time.time()
    for group in groups:
        group.sample(started)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(min(step, max(0.0, deadline - time.monotonic())))
        for group in groups:
            group.sample(started)
    return time.time() - started


def table(groups: list[Group], wall: float) -> str:
    rows = [(g.label, g.cpu_seconds() / wall * 100, len(g.seen)) for g in groups]
    width = max([len("services (sum)"), *(len(r[0]) for r in rows)])
    lines = [f"{'process'.ljust(width)}  {'% of one core':>13}  {'processes':>9}"]
    lines += [f"{label.ljust(width)}  {pct:>12.2f}%  {count:>9}" for label, pct, count in rows]
    services = sum(pct for label, pct, _ in rows if label not in ("kafka", "postgresql"))
    total = sum(pct for _, pct, _ in rows)
    lines.append(f"{'services (sum)'.ljust(width)}  {services:>12.2f}%")
    lines.append(f"{'total'.ljust(width)}  {total:>12.2f}%")
    return "\n".join(lines)


def main(seconds: float, settle: float, hold: float, *, with_services: bool = True, threads: int = 0) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = StackSettings(state_dir=Path(tmp), kafka_port=free_port(), postgres_port=free_port(), _env_file=None)
        infra = start_infrastructure(settings)  # fsync on, as `make up`
        services = []
        try:
            extra_env = {
                "SMTP_PORT": str(free_port()),
                "BOOTSTRAP_ADMIN_KEY": "sb_idle_admin_" + uuid.uuid4().hex,
                "ALLOW_PRIVATE_TARGETS": "true",
            }
            if with_services:
                services = start_services(infra, free_ports(), log_dir=Path(tmp) / "logs", extra_env=extra_env)
            assert infra.kafka is not None and infra.postgres is not None
            groups = [Group(s.name, psutil.Process(s.pid)) for s in services]
            groups.append(Group("kafka", psutil.Process(infra.kafka.process.pid)))
            groups.append(Group("postgresql", psutil.Process(infra.postgres.process.pid)))
            print("pids: " + ", ".join(f"{g.label}={g.root.pid}" for g in groups), flush=True)
            print(f"ready; settling {settle:.0f} s, then sampling {seconds:.0f} s", flush=True)
            time.sleep(settle)
            load_before = os.getloadavg()
            threads_before = {g.label: thread_times(g.root.pid) for g in groups} if threads else {}
            wall = sample(groups, seconds)
            threads_after = {g.label: thread_times(g.root.pid) for g in groups} if threads else {}
            load_after = os.getloadavg()
            print()
            print(table(groups, wall))
            hz = os.sysconf("SC_CLK_TCK")
            for label, after in threads_after.items():
                busiest = busiest_threads(threads_before[label], after, wall, threads, hz)
                named = ", ".join(f"{name} ({tid}) {pct:.2f}%" for name, tid, pct in busiest) or "none used any CPU"
                print(f"\n{label}: {len(after)} threads; busiest: {named}")
            print(
                f"\nwindow {wall:.1f} s; load average before {load_before[0]:.2f} {load_before[1]:.2f} "
                f"{load_before[2]:.2f}, after {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}; "
                f"{os.cpu_count()} cores",
                flush=True,
            )
            if hold:
                print(f"holding the stack for {hold:.0f} s (py-spy the pids above)", flush=True)
                time.sleep(hold)
        finally:
            for service in services:
                service.stop()
            infra.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the sampling window")
    parser.add_argument("--settle", type=float, default=10.0, help="wait this long after every service is ready")
    parser.add_argument("--hold", type=float, default=0.0, help="keep the stack up this long after sampling")
    parser.add_argument(
        "--no-services", action="store_true", help="start only Kafka and PostgreSQL (no client of either)"
    )
    parser.add_argument("--threads", type=int, default=0, help="also print each process's N busiest threads")
    args = parser.parse_args()
    main(args.seconds, args.settle, args.hold, with_services=not args.no_services, threads=args.threads)
