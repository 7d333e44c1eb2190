"""The dashboard's aggregates over the audit log: cached, and computed in the background when large.

An aggregate over a window of N events (events per day, the denial count, the
anomaly scan) costs time in proportion to N.  Small windows are computed in
the request.  A large window is computed once in a background thread while
the page shows the previous value (or "being computed"), so a page view never
waits for a scan of a million events; the result is kept for the cache period.
No personal data is cached: counts, subjects and event metadata only.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
DEFAULT_TTL_SECONDS = 60.0
SYNC_LIMIT_EVENTS = 20_000
"""Windows up to this many events are computed in the request."""


@dataclass(frozen=True, slots=True)
class _Entry:
    value: Any
    at: float


class Aggregates:
    """Per-process cache of aggregates with background refresh of large ones (thread-safe)."""

    def __init__(
        self,
        *,
        ttl: float = DEFAULT_TTL_SECONDS,
        sync_limit: int = SYNC_LIMIT_EVENTS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.sync_limit = sync_limit
        self._clock = clock
        self._lock = threading.Lock()
        self._items: dict[str, _Entry] = {}
        self._running: set[str] = set()
        self._queued: list[tuple[str, Callable[[], object]]] = []

    def get(self, key: str, compute: Callable[[], T], *, size: int, ttl_factor: float = 1.0) -> T | None:
        """The value of ``key``: fresh from the cache, computed now (small), or the last one while a
        background thread refreshes it (large; None when there is no earlier value yet)."""
        with self._lock:
            entry = self._items.get(key)
        fresh = entry is not None and self._clock() - entry.at <= self.ttl * ttl_factor
        if entry is not None and fresh:
            value: T = entry.value
            return value
        if size <= self.sync_limit:
            value = compute()
            self._put(key, value)
            return value
        self._start(key, compute)
        return None if entry is None else entry.value

    def _put(self, key: str, value: object) -> None:
        with self._lock:
            self._items[key] = _Entry(value, self._clock())

    def _start(self, key: str, compute: Callable[[], object]) -> None:
        """Queue a refresh; :meth:`start_queued` runs it (after the response, so the page never
        shares the interpreter with a scan while it renders)."""
        with self._lock:
            if key in self._running:
                return
            self._running.add(key)
            self._queued.append((key, compute))

    def start_queued(self) -> None:
        """Start the queued refreshes, each in a thread of its own."""
        with self._lock:
            queued, self._queued = self._queued, []
        for key, compute in queued:
            self._spawn(key, compute)

    def _spawn(self, key: str, compute: Callable[[], object]) -> None:
        def run() -> None:
            try:
                self._put(key, compute())
            except Exception as exc:  # a failed refresh keeps the old value; the next view retries
                log.warning("console aggregate %s failed: %s", key.split(":")[0], type(exc).__name__)
            finally:
                with self._lock:
                    self._running.discard(key)

        threading.Thread(target=run, name=f"console-{key.split(':')[0]}", daemon=True).start()

    def wait(self, timeout: float = 30.0) -> None:
        """Start what is queued and wait for running refreshes (tests and benchmarks)."""
        self.start_queued()
        deadline = time.monotonic() + timeout
        while self._running and time.monotonic() < deadline:
            time.sleep(0.01)


__all__ = ["SYNC_LIMIT_EVENTS", "Aggregates"]
