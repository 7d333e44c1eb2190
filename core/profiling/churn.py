"""Churn candidates: customers the BG/NBD model thinks are gone, or who are overdue by their own rhythm.

Two independent rules, each reported with its reason:

* ``p_alive``: the BG/NBD probability that the customer is alive is below ``threshold``;
* ``overdue``: the days since the customer's last purchase exceed ``k`` times the median gap (in
  days) between their distinct purchase days.  Customers with fewer than two purchase days have
  no gap and are never flagged by this rule.

Purchase days are UTC calendar days; purchases after ``as_of`` are ignored.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from core.errors import InputError
from core.profiling.clv_summary import utc_day

REASON_P_ALIVE = "p_alive"
REASON_OVERDUE = "overdue"


@dataclass(frozen=True, slots=True)
class ChurnFlag:
    """One churn candidate; ``reasons`` lists the rules that fired (``p_alive``, ``overdue``)."""

    customer_id: str
    reasons: tuple[str, ...]
    probability_alive: float | None
    days_since_last: int | None
    median_gap_days: float | None


@dataclass(frozen=True, slots=True)
class GapStats:
    days_since_last: int
    median_gap_days: float | None


def gap_stats(purchases: Iterable[tuple[str, datetime]], *, as_of: datetime) -> dict[str, GapStats]:
    """Per customer: days from the last purchase day to ``as_of`` and the median inter-purchase gap."""
    limit_day = utc_day(as_of)
    days_by_customer: dict[str, set[int]] = {}
    for customer_id, occurred_at in purchases:
        day = utc_day(occurred_at)
        if day <= limit_day:
            days_by_customer.setdefault(customer_id, set()).add(day)
    stats = {}
    for customer_id, day_set in days_by_customer.items():
        days = np.sort(np.fromiter(day_set, dtype=np.int64, count=len(day_set)))
        median = float(np.median(np.diff(days))) if days.size >= 2 else None
        stats[customer_id] = GapStats(int(limit_day - days[-1]), median)
    return stats


def churn_candidates(
    *,
    probability_alive: Mapping[str, float] | None = None,
    threshold: float = 0.3,
    gaps: Mapping[str, GapStats] | None = None,
    k: float = 3.0,
) -> list[ChurnFlag]:
    """Customers flagged by either rule, ordered by customer id.

    ``probability_alive`` maps pseudonymous id to P(alive) (e.g. from :func:`score_clv`); ``gaps``
    comes from :func:`gap_stats`.  Either may be omitted to use only the other rule.
    """
    if not 0.0 <= threshold <= 1.0:
        raise InputError("churn threshold must be between 0 and 1")
    if k <= 0:
        raise InputError("k must be positive")
    alive = probability_alive or {}
    gap_map = gaps or {}
    flags = []
    for customer_id in sorted(set(alive) | set(gap_map)):
        reasons = []
        p = alive.get(customer_id)
        if p is not None and p < threshold:
            reasons.append(REASON_P_ALIVE)
        stats = gap_map.get(customer_id)
        gap = None if stats is None else stats.median_gap_days
        if stats is not None and gap is not None and stats.days_since_last > k * gap:
            reasons.append(REASON_OVERDUE)
        if reasons:
            flags.append(
                ChurnFlag(
                    customer_id=customer_id,
                    reasons=tuple(reasons),
                    probability_alive=p,
                    days_since_last=None if stats is None else stats.days_since_last,
                    median_gap_days=None if stats is None else stats.median_gap_days,
                )
            )
    return flags
