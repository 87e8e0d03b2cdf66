"""The local stack's supervisor: restart a dead service with doubling back-off, reset after a long run."""

from __future__ import annotations

import itertools

import pytest

from shared.stack.supervisor import Backoff, Supervisor

_pids = itertools.count(100)


class FakeChild:
    def __init__(self) -> None:
        self.pid = next(_pids)
        self.returncode: int | None = None
        self.stopped = False

    def poll(self) -> int | None:
        return self.returncode

    def stop(self) -> None:
        self.stopped = True
        self.returncode = -15


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def world() -> tuple[Supervisor, Clock, list[FakeChild], list[str]]:
    clock, children = Clock(), [FakeChild()]
    notes: list[str] = []

    def start() -> FakeChild:
        children.append(FakeChild())
        return children[-1]

    supervisor = Supervisor(backoff=Backoff(1.0, 30.0, 60.0), clock=clock, notify=notes.append)
    supervisor.adopt("router", children[0], start)
    return supervisor, clock, children, notes


def _crash_and_time_restart(supervisor: Supervisor, clock: Clock, children: list[FakeChild]) -> float:
    """Kill the current child now; return how long until the supervisor started a new one."""
    children[-1].returncode = -9
    crashed_at, before = clock.now, len(children)
    while len(children) == before:
        supervisor.tick()
        if len(children) == before:
            clock.now += 0.25
    return clock.now - crashed_at


def test_a_dead_service_is_logged_with_its_exit_code_and_restarted_after_one_second(world) -> None:
    supervisor, clock, children, notes = world
    clock.now = 5.0
    assert _crash_and_time_restart(supervisor, clock, children) == 1.0
    assert supervisor.current("router") is children[-1] and children[-1].pid != children[0].pid
    assert notes[0] == "router exited with code -9 after 5.0 s; restarting in 1 s"
    assert notes[1].startswith(f"router restarted (pid {children[-1].pid}")


def test_quick_failures_double_the_delay_up_to_thirty_seconds(world) -> None:
    supervisor, clock, children, _ = world
    delays = [_crash_and_time_restart(supervisor, clock, children) for _ in range(8)]
    assert delays == [1, 2, 4, 8, 16, 30, 30, 30]
    assert supervisor.restarts("router") == 8


def test_a_run_that_lasts_sixty_seconds_resets_the_delay(world) -> None:
    supervisor, clock, children, _ = world
    assert [_crash_and_time_restart(supervisor, clock, children) for _ in range(4)] == [1, 2, 4, 8]
    clock.now += 59.0
    assert _crash_and_time_restart(supervisor, clock, children) == 16, "59 s up is not long enough"
    clock.now += 60.0
    assert _crash_and_time_restart(supervisor, clock, children) == 1


def test_a_running_service_is_left_alone_and_stop_all_stops_without_restarting(world) -> None:
    supervisor, clock, children, notes = world
    for _ in range(100):
        clock.now += 1
        supervisor.tick()
    assert len(children) == 1 and notes == []
    supervisor.stop_all()
    clock.now += 100
    supervisor.tick()
    assert children[0].stopped and len(children) == 1


def test_a_start_that_raises_is_retried_with_back_off(world) -> None:
    supervisor, clock, children, notes = world
    failures = iter([OSError("no such file"), None])

    def flaky_start() -> FakeChild:
        if (error := next(failures)) is not None:
            raise error
        children.append(FakeChild())
        return children[-1]

    supervisor.adopt("sla", FakeChild(), flaky_start)
    supervisor.current("sla").returncode = 1
    supervisor.tick()
    clock.now = 1.0
    supervisor.tick()  # start raises: next try 2 s later
    assert "sla did not start (OSError: no such file) after 0.0 s; restarting in 2 s" in notes
    clock.now = 3.0
    supervisor.tick()
    assert supervisor.current("sla") is children[-1]


def test_run_ticks_until_the_wait_says_stop(world) -> None:
    supervisor, _, children, _ = world
    answers = iter([False, False, True])
    children[0].returncode = 0
    supervisor.backoff = Backoff(0.0, 0.0, 60.0)
    supervisor.run(lambda _interval: next(answers))
    assert len(children) == 2, "the first tick noticed the exit and restarted at once"
