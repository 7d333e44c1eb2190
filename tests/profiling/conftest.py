"""Fixtures for the profiling tests: the CDNOW sample shipped in tests/data (see its README.md)."""

from __future__ import annotations

import csv
from collections.abc import Callable
from datetime import UTC, datetime
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


def load_demo(hush: Any, tmp_dir: Path, *, customers: int = 120, seed: int = 7) -> dict[str, int]:
    """Import ``core.demo_data`` customers (each through its owner) and transactions (as the operator)."""
    from core.csv_import import customer_rows, transaction_rows
    from core.demo_data import write_demo_data

    counts = write_demo_data(tmp_dir, customers=customers, seed=seed)
    imported = 0
    for owner in ("alice", "bob"):
        rows = [
            (line, row)
            for line, row in customer_rows(tmp_dir / "customers.csv", default_owner=owner)
            if getattr(row, "owner", None) == owner
        ]
        imported += hush.writes.import_customers(hush.context(owner, "service"), rows).imported
    report = hush.writes.import_transactions(
        hush.operator_context("service"), transaction_rows(tmp_dir / "transactions.csv"), authorize=False
    )
    assert imported == counts["customers"] and not report.rejected
    return counts


@pytest.fixture
def demo_loader() -> Callable[..., dict[str, int]]:
    """:func:`load_demo`, for tests that build their own store."""
    return load_demo


@pytest.fixture
def demo(hush: Any, tmp_path: Path) -> Any:
    """The ``hush`` store with 80 demo customers and their transactions."""
    load_demo(hush, tmp_path / "demo", customers=80)
    return hush
