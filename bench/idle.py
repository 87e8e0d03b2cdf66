"""Idle cost: CPU the whole stack burns with no traffic at all.

    python -m bench.idle                 # 30 s sample after a 10 s settle
    python -m bench.idle --seconds 60 --hold 600    # then keep it up 10 min (py-spy it)
    python -m bench.idle --no-services --settle 60  # Kafka and PostgreSQL alone: the floor under the services

Starts its own Kafka, PostgreSQL (fsync on, as `make up`) and the five services in a temporary
directory, waits until each answers /readyz and the stack has settled, then samples the user +
system CPU time (psutil) of every service process, the Kafka JVM and every PostgreSQL process
(the postmaster and all its children, backends included) over the window, and prints each as a
percentage of one core, with the total. With `--no-services` no service starts: what the broker and
the database cost with no client at all, the part of the idle figure no service change can remove.
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


def main(seconds: float, settle: float, hold: float, *, with_services: bool = True) -> None:
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
            wall = sample(groups, seconds)
            load_after = os.getloadavg()
            print()
            print(table(groups, wall))
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
    args = parser.parse_args()
    main(args.seconds, args.settle, args.hold, with_services=not args.no_services)
