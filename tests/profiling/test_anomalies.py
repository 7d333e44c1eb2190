"""Access analytics: planted anomalies in a synthetic audit log are found; ordinary traffic is not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from core.profiling.anomalies import (
    DENIAL_BURST,
    NOT_OWNED,
    UNUSUAL_HOUR,
    VOLUME,
    AccessRecord,
    daily_baselines,
    find_anomalies,
)

START = datetime(2024, 3, 4, tzinfo=UTC)  # a Monday
SUBJECTS = [f"staff-{k:02d}" for k in range(20)]


def ordinary_log(seed: int = 7) -> list[AccessRecord]:
    """30 working days of office-hours reads of owned accounts, with the odd scattered denial."""
    rng = np.random.default_rng(seed)
    log = []
    for subject in SUBJECTS:
        for day in range(42):
            date = START + timedelta(days=day)
            if date.weekday() >= 5:
                continue
            for _ in range(int(rng.integers(20, 60))):
                at = date + timedelta(hours=8, seconds=int(rng.integers(0, 10 * 3600)))
                log.append(AccessRecord(subject, at, "read", "allow", int(rng.poisson(20)), True))
            for _ in range(int(rng.poisson(1.0))):
                at = date + timedelta(hours=8, seconds=int(rng.integers(0, 10 * 3600)))
                log.append(AccessRecord(subject, at, "read", "deny", 0, None))
    return log


def planted() -> list[AccessRecord]:
    heavy_day = START + timedelta(days=22, hours=10)  # a Wednesday
    burst_at = START + timedelta(days=10, hours=14)
    foreign_at = START + timedelta(days=15, hours=11)
    night = START + timedelta(days=23, hours=3)
    return [
        # staff-03 bulk-reads 10,000 records in one afternoon
        *(
            AccessRecord("staff-03", heavy_day + timedelta(minutes=k), "export", "allow", 200, True)
            for k in range(50)
        ),
        # staff-07 is denied 8 times within four minutes
        *(
            AccessRecord("staff-07", burst_at + timedelta(seconds=30 * k), "read", "deny", 0, None)
            for k in range(8)
        ),
        # staff-11 reads three accounts owned by someone else
        *(
            AccessRecord("staff-11", foreign_at + timedelta(minutes=k), "read", "allow", 1, False)
            for k in range(3)
        ),
        # staff-15 works at 3 a.m.
        *(AccessRecord("staff-15", night + timedelta(minutes=k), "read", "allow", 5, True) for k in range(3)),
    ]


def test_ordinary_traffic_is_not_flagged() -> None:
    assert find_anomalies(ordinary_log()) == []


def test_planted_anomalies_are_found_and_nothing_else() -> None:
    found = find_anomalies(ordinary_log() + planted())
    assert sorted((a.subject, a.kind) for a in found) == [
        ("staff-03", VOLUME),
        ("staff-07", DENIAL_BURST),
        ("staff-11", NOT_OWNED),
        ("staff-15", UNUSUAL_HOUR),
    ]
    by_kind = {a.kind: a for a in found}
    assert by_kind[DENIAL_BURST].events == 8
    assert by_kind[NOT_OWNED].events == 3
    assert by_kind[UNUSUAL_HOUR].events == 3
    assert by_kind[VOLUME].rows >= 10_000


def test_daily_baseline_is_median_and_mad_of_records_read() -> None:
    log = [
        AccessRecord("a", START + timedelta(days=d, hours=10), "read", "allow", rows, True)
        for d, rows in enumerate([10, 12, 11, 50, 9])
    ]
    log.append(
        AccessRecord("a", START + timedelta(hours=11), "read", "deny", 99, None)
    )  # denied: no rows read
    (baseline,) = daily_baselines(log)
    assert (baseline.subject, baseline.active_days) == ("a", 5)
    assert baseline.median_rows == 11.0
    assert baseline.mad_rows == 1.0  # |10-11|, |12-11|, 0, 39, 2 -> median 1
    assert baseline.median_events == 1.0


@pytest.mark.parametrize(
    ("count", "spacing_s", "flagged"),
    [
        (5, 60, True),  # five denials in four minutes: a burst
        (4, 60, False),  # four are not enough
        (5, 160, False),  # five spread over 10 min 40 s: outside the 10-minute window
    ],
)
def test_denial_burst_boundaries(count: int, spacing_s: int, flagged: bool) -> None:
    log = [
        AccessRecord("s", START + timedelta(seconds=spacing_s * k), "read", "deny", 0, None)
        for k in range(count)
    ]
    assert [a.kind for a in find_anomalies(log)] == ([DENIAL_BURST] if flagged else [])


def test_volume_needs_history() -> None:
    # Two days only: no baseline yet, so even a huge day is not judged.
    log = [
        AccessRecord("new", START, "read", "allow", 10, True),
        AccessRecord("new", START + timedelta(days=1), "read", "allow", 100_000, True),
    ]
    assert find_anomalies(log) == []
