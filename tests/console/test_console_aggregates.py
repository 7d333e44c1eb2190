"""The dashboard's aggregates: small windows computed in the request, large ones in the background."""

from __future__ import annotations

import threading

from api.console.aggregates import Aggregates


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_small_windows_are_computed_now_and_cached() -> None:
    clock = _Clock()
    calls: list[int] = []
    agg = Aggregates(ttl=60, sync_limit=100, clock=clock)
    assert agg.get("k", lambda: calls.append(1) or 7, size=10) == 7
    assert agg.get("k", lambda: calls.append(1) or 8, size=10) == 7  # cached
    clock.now += 61
    assert agg.get("k", lambda: calls.append(1) or 9, size=10) == 9  # expired: computed again
    assert len(calls) == 2


def test_large_windows_never_block_the_page() -> None:
    clock = _Clock()
    release = threading.Event()

    def slow(value: int) -> int:
        release.wait(10)
        return value

    agg = Aggregates(ttl=60, sync_limit=100, clock=clock)
    assert agg.get("k", lambda: slow(1), size=1000) is None  # nothing yet: started in the background
    assert agg.get("k", lambda: slow(99), size=1000) is None  # one refresh at a time
    release.set()
    agg.wait()
    assert agg.get("k", lambda: slow(2), size=1000) == 1
    clock.now += 61
    release.clear()
    assert agg.get("k", lambda: slow(3), size=1000) == 1  # stale value while refreshing
    release.set()
    agg.wait()
    assert agg.get("k", lambda: slow(4), size=1000) == 3


def test_a_failed_refresh_keeps_the_old_value() -> None:
    clock = _Clock()
    agg = Aggregates(ttl=60, sync_limit=0, clock=clock)
    agg.get("k", lambda: 5, size=1)
    agg.wait()
    clock.now += 61

    def boom() -> int:
        raise RuntimeError("db gone")

    assert agg.get("k", boom, size=1) == 5
    agg.wait()
    assert agg.get("k", boom, size=1) == 5
