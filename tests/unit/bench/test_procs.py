"""The process meter counts a child's CPU after the child has ended, and never goes backwards."""

from __future__ import annotations

import os
import subprocess
import sys

from bench import procs

BURN = "import time\nend = time.process_time() + 0.3\nwhile time.process_time() < end: pass\n"


def test_cpu_of_a_grandchild_that_ended_is_still_counted() -> None:
    """As a PostgreSQL backend's: the helper starts a child that burns 0.3 s, reaps it, and stays up."""
    helper = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import subprocess, sys\nsubprocess.run([sys.executable, '-c', {BURN!r}])\nprint('done', flush=True)\nsys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        meter = procs.Meter({"helper": helper.pid})
        meter.start()
        assert helper.stdout is not None
        assert helper.stdout.readline().strip() == "done"
        cpu, rss = procs._cpu_and_rss(helper.pid)
        assert cpu >= 0.3  # the child's burn, though the child is gone
        assert rss > 2**20
        assert meter.read()["helper"].cpu_pct > 0
    finally:
        helper.kill()
        helper.wait()


def test_own_only_leaves_children_out() -> None:
    before, _ = procs._cpu_and_rss(os.getpid(), own_only=True)
    subprocess.run([sys.executable, "-c", BURN], check=True)
    after, _ = procs._cpu_and_rss(os.getpid(), own_only=True)
    with_children, _ = procs._cpu_and_rss(os.getpid())
    assert after - before < 0.25  # the child's 0.3 s are not ours
    assert with_children - after >= 0.25


def test_stack_total_leaves_the_benchmark_out() -> None:
    usage = {"router": procs.Usage(3.0, 90.0), "kafka": procs.Usage(1.5, 500.0), "bench": procs.Usage(50.0, 100.0)}
    assert procs.stack_total(usage) == 4.5
