"""RFM: recency, frequency and monetary value per customer, quintile scores and named segments.

Aggregation runs in SQL inside the database (one ``GROUP BY customer_id`` over the transactions,
portable between SQLite and PostgreSQL); only one row per customer comes back to Python.

Definitions (all "as of" a moment ``as_of``; transactions with ``occurred_at > as_of`` are ignored):

* ``recency_days``: whole UTC calendar days from the last purchase to ``as_of`` (0 = bought that day);
* ``frequency``: number of transactions;
* ``monetary``: **sum** of the transaction amounts (total spend, a ``Decimal``).

Quintile scores (1 = worst, 5 = best) use this **tie rule**: a customer's score is
``1 + floor(5 * w / n)`` where ``n`` is the number of customers scored and ``w`` the number of
customers with a *strictly worse* value (larger recency; smaller frequency or monetary).  Equal
values therefore always get equal scores, and a value shared by many customers sits in the
quintile of its lowest rank (so scores need not be evenly filled when values tie heavily).

The segment comes from the recency score ``R`` and ``FM = (F + M + 1) // 2`` (the mean of the
frequency and monetary scores, rounded half up) through :data:`SEGMENT_GRID`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import cast

import numpy as np
import sqlalchemy as sa
from numpy.typing import NDArray
from sqlalchemy.exc import SQLAlchemyError

from core.errors import InputError, StoreError

CHAMPIONS = "Champions"
LOYAL = "Loyal"
POTENTIAL_LOYALIST = "Potential Loyalist"
NEW_CUSTOMERS = "New Customers"
PROMISING = "Promising"
NEED_ATTENTION = "Need Attention"
ABOUT_TO_SLEEP = "About to Sleep"
AT_RISK = "At Risk"
CANNOT_LOSE_THEM = "Cannot Lose Them"
HIBERNATING = "Hibernating"
LOST = "Lost"

#: Segments in display order (best first).
SEGMENTS: tuple[str, ...] = (
    CHAMPIONS,
    LOYAL,
    POTENTIAL_LOYALIST,
    NEW_CUSTOMERS,
    PROMISING,
    NEED_ATTENTION,
    ABOUT_TO_SLEEP,
    AT_RISK,
    CANNOT_LOSE_THEM,
    HIBERNATING,
    LOST,
)

#: The one mapping of (R, FM) to a segment: ``SEGMENT_GRID[R][FM - 1]``.  Read a row as "customers
#: with recency score R", columns FM = 1 (rare, cheap) .. 5 (frequent, big spenders).
SEGMENT_GRID: Mapping[int, tuple[str, str, str, str, str]] = {
    #     FM=1            FM=2                FM=3                FM=4        FM=5
    5: (NEW_CUSTOMERS, POTENTIAL_LOYALIST, POTENTIAL_LOYALIST, CHAMPIONS, CHAMPIONS),
    4: (PROMISING, POTENTIAL_LOYALIST, POTENTIAL_LOYALIST, LOYAL, LOYAL),
    3: (ABOUT_TO_SLEEP, ABOUT_TO_SLEEP, NEED_ATTENTION, LOYAL, LOYAL),
    2: (HIBERNATING, HIBERNATING, AT_RISK, AT_RISK, CANNOT_LOSE_THEM),
    1: (LOST, LOST, AT_RISK, AT_RISK, CANNOT_LOSE_THEM),
}


@dataclass(frozen=True, slots=True)
class RfmRow:
    """The SQL aggregate for one customer (``customer_id`` is the caller's pseudonymous id)."""

    customer_id: str
    recency_days: int
    frequency: int
    monetary: Decimal
    last_purchase: datetime


@dataclass(frozen=True, slots=True)
class RfmScore:
    """An :class:`RfmRow` with its quintile scores and segment."""

    customer_id: str
    recency_days: int
    frequency: int
    monetary: Decimal
    r: int
    f: int
    m: int
    fm: int
    segment: str


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC) if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def rfm_sql(
    conn: sa.Connection,
    transactions: sa.Table,
    *,
    as_of: datetime,
    customer_filter: sa.ColumnElement[bool] | None = None,
    key: sa.ColumnElement[str] | None = None,
    source: sa.FromClause | None = None,
) -> list[RfmRow]:
    """Aggregate ``transactions`` per ``customer_id`` in the database, ordered by customer id.

    ``transactions`` needs the columns ``customer_id``, ``occurred_at`` and ``amount``;
    ``customer_filter`` (e.g. the consent filter) is ANDed into the WHERE clause.  ``key`` replaces
    the reported id (e.g. the customers' pseudonym, with ``source`` the join that provides it); the
    grouping stays on ``customer_id`` so the covering index is used.  A naive ``as_of`` is taken
    to be UTC.  Database errors are raised as :class:`StoreError`.
    """
    limit = _utc(as_of)
    col = transactions.c
    key_col = col.customer_id if key is None else key
    stmt = sa.select(
        key_col,
        sa.func.max(col.occurred_at).label("last_purchase"),
        sa.func.count().label("frequency"),
        sa.func.sum(col.amount).label("monetary"),
    ).where(col.occurred_at <= limit)
    if source is not None:
        stmt = stmt.select_from(source)
    if customer_filter is not None:
        stmt = stmt.where(customer_filter)
    group = (col.customer_id,) if key is None else (col.customer_id, key)
    stmt = stmt.group_by(*group).order_by(key_col)
    try:
        result = conn.execute(stmt).all()
    except SQLAlchemyError as exc:
        raise StoreError("RFM aggregation failed") from exc
    today = limit.date()
    rows = []
    for customer_id, last, frequency, monetary in result:
        if not isinstance(last, datetime):
            raise StoreError("RFM aggregation returned an unexpected timestamp type")
        last_utc = _utc(last)
        rows.append(
            RfmRow(
                customer_id=str(customer_id),
                recency_days=(today - last_utc.date()).days,
                frequency=int(cast("int", frequency)),
                monetary=monetary if isinstance(monetary, Decimal) else Decimal(str(monetary)),
                last_purchase=last_utc,
            )
        )
    return rows


def quintile_scores(values: NDArray[np.float64], *, higher_is_better: bool) -> NDArray[np.int64]:
    """Scores 1..5 with the module's tie rule (equal values, equal score)."""
    n = values.size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    ordered = np.sort(values)
    if higher_is_better:
        worse = np.searchsorted(ordered, values, side="left")
    else:
        worse = n - np.searchsorted(ordered, values, side="right")
    return (1 + (5 * worse) // n).astype(np.int64)


def segment_of(r: int, fm: int) -> str:
    """The named segment of a recency score and an FM score (both 1..5)."""
    if r not in SEGMENT_GRID or not 1 <= fm <= 5:
        raise InputError("RFM scores must be between 1 and 5")
    return SEGMENT_GRID[r][fm - 1]


def score_rfm(rows: Sequence[RfmRow]) -> list[RfmScore]:
    """Quintile scores and segments for ``rows`` (scored against each other)."""
    recency = np.array([row.recency_days for row in rows], dtype=np.float64)
    frequency = np.array([row.frequency for row in rows], dtype=np.float64)
    monetary = np.array([float(row.monetary) for row in rows], dtype=np.float64)
    r = quintile_scores(recency, higher_is_better=False).tolist()
    f = quintile_scores(frequency, higher_is_better=True).tolist()
    m = quintile_scores(monetary, higher_is_better=True).tolist()
    scored = []
    for row, ri, fi, mi in zip(rows, r, f, m, strict=True):
        fm = (fi + mi + 1) // 2
        scored.append(
            RfmScore(
                row.customer_id,
                row.recency_days,
                row.frequency,
                row.monetary,
                ri,
                fi,
                mi,
                fm,
                segment_of(ri, fm),
            )
        )
    return scored


def segment_counts(scores: Sequence[RfmScore]) -> dict[str, int]:
    """Customers per segment, every segment present (zero if empty), in :data:`SEGMENTS` order."""
    counter = Counter(score.segment for score in scores)
    return {name: counter.get(name, 0) for name in SEGMENTS}


def render_chart(counts: Mapping[str, int], path: Path | str) -> Path:
    """Write a horizontal bar chart of segment sizes to ``path`` (PNG) and return the path.

    Uses matplotlib's Agg backend through an explicit Figure, so no display and no global
    pyplot state is touched.  Only counts are drawn, never customer ids.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    target = Path(path)
    names = [name for name in SEGMENTS if name in counts] + sorted(set(counts) - set(SEGMENTS))
    sizes = [counts[name] for name in names]
    figure = Figure(figsize=(8, 0.45 * len(names) + 1.2), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot(1, 1, 1)
    positions = list(range(len(names)))
    axes.barh(positions, sizes, color="#4C72B0")
    axes.set_yticks(positions, labels=names)
    axes.invert_yaxis()
    axes.set_xlabel("customers")
    axes.set_title("RFM segments")
    for y, size in zip(positions, sizes, strict=True):
        axes.annotate(
            str(size), (size, y), xytext=(3, 0), textcoords="offset points", va="center", fontsize=8
        )
    figure.tight_layout()
    try:
        figure.savefig(target, format="png")
    except OSError as exc:
        raise InputError("cannot write the chart file") from exc
    return target
