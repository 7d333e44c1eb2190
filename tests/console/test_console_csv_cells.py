"""Audit CSV cells that could run as formulas are neutralised; filter times out of range are refused."""

from __future__ import annotations

import pytest

from api.console.audit_reads import AuditFilters, _csv_cell
from core.errors import InputError


@pytest.mark.parametrize(
    "value",
    ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1+1", "\r=1+1", ' =HYPERLINK("x")', "\n@x"],
)
def test_formula_like_cells_are_quoted(value: str) -> None:
    assert _csv_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["alice", "a=b", "", 7, None])
def test_plain_cells_are_unchanged(value: object) -> None:
    assert _csv_cell(value) == value


@pytest.mark.parametrize("value", ["9999-12-31T23:59:59-05:00", "0001-01-01T00:00+05:00"])
def test_times_out_of_range_are_input_errors(value: str) -> None:
    with pytest.raises(InputError):
        AuditFilters.parse({"since": value})
