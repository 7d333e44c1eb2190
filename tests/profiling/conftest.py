"""Fixtures for the profiling tests: the CDNOW sample shipped in tests/data (see its README.md)."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

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
