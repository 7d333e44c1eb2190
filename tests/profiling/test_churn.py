"""Churn: the P(alive) threshold rule and the "overdue by k median gaps" rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.errors import InputError
from core.profiling.churn import REASON_OVERDUE, REASON_P_ALIVE, churn_candidates, gap_stats

AS_OF = datetime(2024, 12, 31, 12, tzinfo=UTC)


def _every(customer: str, gap_days: int, count: int, last_days_ago: int) -> list[tuple[str, datetime]]:
    last = AS_OF - timedelta(days=last_days_ago)
    return [(customer, last - timedelta(days=gap_days * k)) for k in range(count)]


def test_gap_stats_use_distinct_days_and_ignore_the_future() -> None:
    rows = [
        *_every("weekly", 7, 5, last_days_ago=2),
        ("weekly", AS_OF - timedelta(days=2, hours=3)),  # same day as the last purchase
        ("weekly", AS_OF + timedelta(days=5)),  # after as_of: ignored
    ]
    stats = gap_stats(rows, as_of=AS_OF)
    assert stats["weekly"].median_gap_days == 7.0
    assert stats["weekly"].days_since_last == 2


def test_overdue_rule_flags_customers_silent_for_k_median_gaps() -> None:
    rows = (
        _every("weekly-quiet", 7, 6, last_days_ago=30)  # 30 > 3 * 7: overdue
        + _every("weekly-active", 7, 6, last_days_ago=10)  # 10 <= 21: fine
        + _every("monthly", 30, 6, last_days_ago=60)  # 60 <= 90: fine
        + _every("once", 1, 1, last_days_ago=400)  # one purchase: no gap, never overdue
    )
    flags = churn_candidates(gaps=gap_stats(rows, as_of=AS_OF), k=3.0)
    assert [(f.customer_id, f.reasons) for f in flags] == [("weekly-quiet", (REASON_OVERDUE,))]
    assert flags[0].median_gap_days == 7.0


def test_overdue_boundary_is_strictly_greater_than_k_gaps() -> None:
    at_boundary = gap_stats(_every("c", 10, 3, last_days_ago=30), as_of=AS_OF)
    past_boundary = gap_stats(_every("c", 10, 3, last_days_ago=31), as_of=AS_OF)
    assert churn_candidates(gaps=at_boundary, k=3.0) == []
    assert len(churn_candidates(gaps=past_boundary, k=3.0)) == 1


def test_probability_alive_rule_and_both_reasons() -> None:
    gaps = gap_stats(_every("both", 7, 4, last_days_ago=100), as_of=AS_OF)
    alive = {"both": 0.05, "low": 0.29, "ok": 0.31}
    flags = churn_candidates(probability_alive=alive, threshold=0.3, gaps=gaps, k=3.0)
    assert [(f.customer_id, f.reasons) for f in flags] == [
        ("both", (REASON_P_ALIVE, REASON_OVERDUE)),
        ("low", (REASON_P_ALIVE,)),
    ]


@pytest.mark.parametrize(("threshold", "k"), [(-0.1, 3.0), (1.5, 3.0), (0.5, 0.0)])
def test_bad_parameters_are_input_errors(threshold: float, k: float) -> None:
    with pytest.raises(InputError):
        churn_candidates(probability_alive={}, threshold=threshold, k=k)
