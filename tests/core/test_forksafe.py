"""A lock held by another thread at a fork is unlocked in the child (core.forksafe)."""

from __future__ import annotations

import os
import threading

import pytest

from core.forksafe import ForkSafeLock


@pytest.mark.skipif(not hasattr(os, "fork"), reason="POSIX fork")
def test_a_lock_held_by_another_thread_at_fork_is_free_in_the_child() -> None:
    lock = ForkSafeLock()
    plain = threading.Lock()
    held = threading.Event()
    done = threading.Event()

    def hold() -> None:
        with lock, plain:
            held.set()
            done.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    held.wait(10)
    try:
        pid = os.fork()
        if pid == 0:  # the child: the fork-safe lock is free, the plain one is still held
            ok = lock.acquire(timeout=1) and not plain.acquire(timeout=0.2)
            os._exit(0 if ok else 1)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert lock.locked()  # the parent's lock is untouched
    finally:
        done.set()
        thread.join(10)
    assert not lock.locked()


def test_it_is_a_lock() -> None:
    lock = ForkSafeLock()
    assert lock.acquire()
    assert not lock.acquire(blocking=False)
    lock.release()
    with lock:
        assert lock.locked()
    assert not lock.locked()
