"""Locks that a forked child gets unlocked.

The import's prepare workers and the export's gate worker are forked from a process
that may run other threads (a server's request threads, an export's pipeline).  A
``threading.Lock`` held by one of those threads at the moment of the fork stays held
in the child forever: no thread there will release it.  The locks below guard lazy,
once-per-process builds (a model, a converter, compiled patterns); a child that finds
one held would wait forever for a build that is not happening.  Each
:class:`ForkSafeLock` is replaced by a fresh lock in every forked child
(``os.register_at_fork``), so the child builds what it needs itself.

A child never sees a half-built object through this: every guarded build publishes
its result only when done (a list append or an attribute set after construction),
so an unfinished build in the parent is simply absent in the child.
"""

from __future__ import annotations

import os
import threading
import weakref
from types import TracebackType
from typing import Final


class ForkSafeLock:
    """A non-reentrant lock (as ``threading.Lock``) that is unlocked again in a forked child."""

    __slots__ = ("__weakref__", "_lock")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        _LOCKS.add(self)

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        return self._lock.acquire(blocking, timeout)

    def release(self) -> None:
        self._lock.release()

    def locked(self) -> bool:
        return self._lock.locked()

    def __enter__(self) -> bool:
        return self._lock.acquire()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._lock.release()

    def _renew(self) -> None:
        self._lock = threading.Lock()


_LOCKS: Final[weakref.WeakSet[ForkSafeLock]] = weakref.WeakSet()


def _renew_all() -> None:
    for lock in list(_LOCKS):
        lock._renew()


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_renew_all)
