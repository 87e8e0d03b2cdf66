"""bench.idle's per-thread view: reading /proc stat lines and ranking threads by what they used."""

from __future__ import annotations

import ctypes
import os
import threading
import time

from bench.idle import busiest_threads, parse_stat, thread_times


def test_a_stat_line_whose_name_holds_spaces_and_parentheses() -> None:
    # proc(5): pid (comm) state ppid ... utime stime ...; a thread may name itself "a) (b"
    line = "4242 (data-plane (k) 1) S 1 4242 4242 0 -1 4194560 10 0 0 0 37 5 0 0 20 0 74 0 100 1 1"
    assert parse_stat(line) == ("data-plane (k) 1", 42)


def test_threads_ranked_by_what_they_used_in_between() -> None:
    before = {1: ("main", 100), 2: ("C1 Compiler", 50), 3: ("idle", 7)}
    after = {1: ("main", 110), 2: ("C1 Compiler", 90), 3: ("idle", 7), 4: ("born", 20)}
    ranked = busiest_threads(before, after, seconds=10.0, top=3, hz=100)
    assert ranked == [("C1 Compiler", 2, 4.0), ("born", 4, 2.0), ("main", 1, 1.0)]


def test_this_process_threads_are_read_with_their_names() -> None:
    done = threading.Event()
    named = threading.Event()

    def wait_named() -> None:
        # the kernel's thread name, as a JVM sets it (Python 3.11 leaves its threads named after the process)
        ctypes.CDLL(None).prctl(15, b"sb-test-waiter")  # PR_SET_NAME
        named.set()
        done.wait(5)

    waiter = threading.Thread(target=wait_named)
    waiter.start()
    assert named.wait(5)
    try:
        deadline = time.monotonic() + 0.2
        while time.monotonic() < deadline:  # some CPU on the main thread, so its ticks are > 0 somewhere
            pass
        seen = thread_times(os.getpid())
    finally:
        done.set()
        waiter.join()
    assert os.getpid() in seen
    assert "sb-test-waiter" in {name for name, _ in seen.values()}
    assert seen[os.getpid()][1] > 0
