"""Fixtures for the profiling tests: the CDNOW sample shipped in tests/data (see its README.md)."""

from __future__ import annotations

import csv
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from core.profiling.clv_summary import CustomerSummary

DATA = Path(__file__).resolve().parent.parent / "data"


@pytest.fixture(scope="session")
def cdnow_rows() -> list[tuple[str, datetime, float]]:
    return cdnow_transactions()


@pytest.fixture(scope="session")
def cdnow_published() -> CustomerSummary:
    return published_summary()


def cdnow_transactions() -> list[tuple[str, datetime, float]]:
    """``(customer_id, occurred_at, amount)`` rows of CDNOW_sample.txt (id = the sample's 1..2357)."""
    rows = []
    with (DATA / "CDNOW_sample.txt").open(encoding="ascii") as handle:
        for line in handle:
            _master_id, sample_id, day, _cds, dollars = line.split()
            occurred = datetime.strptime(day, "%Y%m%d").replace(tzinfo=UTC)
            rows.append((str(int(sample_id)), occurred, float(dollars)))
    return rows


def published_summary() -> CustomerSummary:
    """The published 39-week calibration summary (x, t_x, T, zbar) of the same customers."""
    ids, columns = [], []
    with (DATA / "cdnow_customers_summary_with_transactions.csv").open(encoding="ascii") as handle:
        for row in csv.DictReader(handle):
            ids.append(row["ID"])
            columns.append([float(row["x"]), float(row["t_x"]), float(row["T"]), float(row["zbar"])])
    arr = np.array(columns)
    return CustomerSummary(
        tuple(ids), arr[:, 0].copy(), arr[:, 1].copy(), arr[:, 2].copy(), arr[:, 3].copy(), "week"
    )


def write_steady_transactions(path: Path, *, customers: int, until: datetime) -> int:
    """A degenerate purchase history: every customer buys every week, nobody ever stops.

    No customer drops out and all buy at the same rate, so BG/NBD cannot identify its dropout
    (``a``, ``b``) or rate heterogeneity (``r``): the fit runs to the bounds of its search box.
    """
    count = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["external_id", "occurred_at", "amount", "currency", "product", "category"])
        for i in range(1, customers + 1):
            first = until - timedelta(days=300 + 5 * (i % 30))
            for k in range(60):
                when = first + timedelta(days=7 * k)
                if when < until - timedelta(days=1):
                    amount = 20 + i % 5 + k % 3
                    writer.writerow([f"C{i:06d}", when.isoformat(), f"{amount}.00", "GBP", "tea set", "home"])
                    count += 1
    return count


def load_demo(
    hush: Any,
    tmp_dir: Path,
    *,
    customers: int = 120,
    seed: int = 7,
    steady_until: datetime | None = None,
) -> dict[str, int]:
    """Import ``core.demo_data`` customers (each through its owner) and transactions (as the operator).

    With ``steady_until`` the transactions are :func:`write_steady_transactions` instead of the
    demo's purchase process.
    """
    from core.csv_import import customer_rows, transaction_rows
    from core.demo_data import write_demo_data

    counts = write_demo_data(tmp_dir, customers=customers, seed=seed)
    if steady_until is not None:
        counts["transactions"] = write_steady_transactions(
            tmp_dir / "transactions.csv", customers=customers, until=steady_until
        )
    imported = 0
    for owner in ("alice", "bob"):
        rows = [
            (line, row)
            for line, row in customer_rows(tmp_dir / "customers.csv", default_owner=owner)
            if getattr(row, "owner", None) == owner
        ]
        imported += hush.writes.import_customers(hush.context(owner, "service"), rows).imported
    report = hush.writes.import_transactions(
        hush.operator_context("service"), transaction_rows(tmp_dir / "transactions.csv")
    )
    assert imported == counts["customers"] and not report.rejected
    return counts


@pytest.fixture
def demo_loader() -> Callable[..., dict[str, int]]:
    """:func:`load_demo`, for tests that build their own store."""
    return load_demo


#: Demo customers in the store fixtures: enough that the lifetime-value fits are sound (about 120
#: consenting buyers; with a few dozen the BG/NBD dropout parameters are often not identified).
DEMO_CUSTOMERS = 200


@pytest.fixture
def demo(hush: Any, tmp_path: Path) -> Any:
    """The ``hush`` store with :data:`DEMO_CUSTOMERS` demo customers and their transactions."""
    load_demo(hush, tmp_path / "demo", customers=DEMO_CUSTOMERS)
    return hush
