"""RFM: SQL aggregation on SQLite and PostgreSQL, the quintile tie rule, the segment grid, the chart."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.errors import InputError
from core.profiling.rfm import (
    SEGMENT_GRID,
    SEGMENTS,
    RfmRow,
    quintile_scores,
    render_chart,
    rfm_sql,
    score_rfm,
    segment_counts,
    segment_of,
)

AS_OF = datetime(2024, 6, 30, 18, 0, tzinfo=UTC)

_metadata = sa.MetaData()
# The shape of hushdb's transactions table, under a name of our own so that it can be created
# and dropped next to the migrated schema.
transactions = sa.Table(
    "profiling_test_transactions",
    _metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("customer_id", sa.String(36), nullable=False, index=True),
    sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("amount", sa.Numeric(12, 2), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("product", sa.String(128), nullable=False),
    sa.Column("category", sa.String(64), nullable=False),
)


@pytest.fixture
def tx_engine(engine: Engine) -> Iterator[Engine]:
    _metadata.create_all(engine)
    yield engine
    _metadata.drop_all(engine)


def _cid(n: int) -> str:
    return str(uuid.UUID(int=n))


def _insert(conn: sa.Connection, rows: list[tuple[int, datetime, str]]) -> None:
    conn.execute(
        transactions.insert(),
        [
            {
                "customer_id": _cid(c),
                "occurred_at": when,
                "amount": Decimal(amount),
                "currency": "EUR",
                "product": "p",
                "category": "c",
            }
            for c, when, amount in rows
        ],
    )


def test_rfm_sql_aggregates_per_customer_in_the_database(tx_engine: Engine) -> None:
    with tx_engine.begin() as conn:
        _insert(
            conn,
            [
                (1, AS_OF - timedelta(days=10), "10.50"),
                (1, AS_OF - timedelta(days=3, hours=1), "4.25"),
                (2, AS_OF - timedelta(days=40), "100.00"),
                (2, AS_OF + timedelta(days=1), "999.00"),  # after as_of: ignored
                (3, AS_OF + timedelta(hours=1), "1.00"),  # only after as_of: customer absent
            ],
        )
        rows = rfm_sql(conn, transactions, as_of=AS_OF)
    assert [r.customer_id for r in rows] == [_cid(1), _cid(2)]
    one, two = rows
    assert (one.recency_days, one.frequency, one.monetary) == (3, 2, Decimal("14.75"))
    assert (two.recency_days, two.frequency, two.monetary) == (40, 1, Decimal("100.00"))
    assert one.last_purchase == AS_OF - timedelta(days=3, hours=1)


def test_rfm_sql_applies_the_customer_filter_in_sql(tx_engine: Engine) -> None:
    with tx_engine.begin() as conn:
        _insert(conn, [(1, AS_OF - timedelta(days=1), "1.00"), (2, AS_OF - timedelta(days=2), "2.00")])
        rows = rfm_sql(conn, transactions, as_of=AS_OF, customer_filter=transactions.c.customer_id != _cid(2))
    assert [r.customer_id for r in rows] == [_cid(1)]


def test_recency_counts_calendar_days_in_utc(tx_engine: Engine) -> None:
    late_evening = datetime(2024, 6, 29, 23, 30, tzinfo=UTC)
    with tx_engine.begin() as conn:
        _insert(conn, [(1, late_evening, "1.00"), (2, AS_OF - timedelta(hours=1), "1.00")])
        rows = rfm_sql(conn, transactions, as_of=AS_OF)
    assert [r.recency_days for r in rows] == [1, 0]


@pytest.mark.parametrize(
    ("values", "higher_is_better", "expected"),
    [
        # ten distinct values: two per quintile
        (list(range(10)), True, [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]),
        # lower is better (recency): the smallest value scores 5
        (list(range(10)), False, [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]),
        # ties share the score of their lowest rank: six 1s are all "worst"
        ([1, 1, 1, 1, 1, 1, 2, 3, 4, 5], True, [1, 1, 1, 1, 1, 1, 4, 4, 5, 5]),
        # all equal: everybody scores 1
        ([7, 7, 7], True, [1, 1, 1]),
        # a single customer scores 1
        ([3], False, [1]),
    ],
)
def test_quintile_tie_rule(values: list[int], higher_is_better: bool, expected: list[int]) -> None:
    scores = quintile_scores(np.array(values, dtype=np.float64), higher_is_better=higher_is_better)
    assert scores.tolist() == expected


@pytest.mark.parametrize(
    ("r", "f", "m", "segment"),
    [
        (5, 5, 5, "Champions"),  # bought recently, often, and spends most
        (5, 4, 3, "Champions"),  # FM = (4+3+1)//2 = 4: the grid's lower Champions edge
        (5, 3, 3, "Potential Loyalist"),  # recent, middling FM
        (5, 1, 2, "Potential Loyalist"),  # FM = 2 (rounded half up from 1.5)
        (5, 1, 1, "New Customers"),  # recent first purchase, nothing else yet
        (4, 5, 5, "Loyal"),  # slightly less recent top spenders
        (4, 2, 3, "Potential Loyalist"),  # FM rounds 2.5 up to 3
        (4, 1, 1, "Promising"),  # fairly recent, low FM
        (3, 5, 4, "Loyal"),  # middle recency, high FM still loyal
        (3, 3, 3, "Need Attention"),  # the centre cell
        (3, 2, 2, "About to Sleep"),  # middle recency, low FM
        (3, 1, 1, "About to Sleep"),  # the bottom-left of the middle row
        (2, 5, 5, "Cannot Lose Them"),  # big spenders going quiet
        (2, 4, 3, "At Risk"),  # good customers going quiet
        (2, 1, 2, "Hibernating"),  # long ago, low value
        (1, 5, 4, "Cannot Lose Them"),  # the best FM column never falls to Lost
        (1, 3, 2, "At Risk"),  # FM = 3 at the oldest recency
        (1, 2, 1, "Lost"),  # oldest recency, low value
        (1, 1, 1, "Lost"),  # the worst cell
    ],
)
def test_segment_boundaries(r: int, f: int, m: int, segment: str) -> None:
    fm = (f + m + 1) // 2
    assert segment_of(r, fm) == segment


def test_grid_uses_exactly_the_eleven_named_segments() -> None:
    used = {name for row in SEGMENT_GRID.values() for name in row}
    assert used == set(SEGMENTS)
    assert len(SEGMENTS) == 11
    assert sorted(SEGMENT_GRID) == [1, 2, 3, 4, 5]


@pytest.mark.parametrize(("r", "fm"), [(0, 3), (6, 3), (3, 0), (3, 6)])
def test_scores_outside_one_to_five_are_rejected(r: int, fm: int) -> None:
    with pytest.raises(InputError):
        segment_of(r, fm)


def _row(n: int, recency: int, frequency: int, monetary: str) -> RfmRow:
    return RfmRow(_cid(n), recency, frequency, Decimal(monetary), AS_OF - timedelta(days=recency))


def test_score_rfm_ranks_customers_against_each_other() -> None:
    rows = [_row(n, recency=n, frequency=11 - n, monetary=str(100 * (11 - n))) for n in range(1, 11)]
    scored = score_rfm(rows)
    best, worst = scored[0], scored[-1]
    assert (best.r, best.f, best.m, best.segment) == (5, 5, 5, "Champions")
    assert (worst.r, worst.f, worst.m, worst.segment) == (1, 1, 1, "Lost")
    counts = segment_counts(scored)
    assert list(counts) == list(SEGMENTS)
    assert sum(counts.values()) == 10


def test_render_chart_writes_a_png(tmp_path: Path) -> None:
    counts = {name: i * 3 for i, name in enumerate(SEGMENTS)}
    path = render_chart(counts, tmp_path / "segments.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size > 1000
