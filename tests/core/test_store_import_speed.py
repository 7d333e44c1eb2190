"""What the faster import path must keep: the existing-id look-up, the worker's wire format, the report."""

from __future__ import annotations

import datetime as dt
import gc
import pickle
from typing import Any

import sqlalchemy as sa

import core.prepare_pool as prepare_pool
from api.wiring import Hush
from audit import queries
from core.errors import InputError
from core.models import customers_t, utcnow
from core.prepare_pool import PreparePool, _from_wire, _input_values, _prepare_values, _to_wire
from core.records import CustomerInput
from core.writes import RowError


def customer(i: int, **changes: Any) -> CustomerInput:
    values: dict[str, Any] = {
        "external_id": f"S{i:04d}",
        "full_name": f"Zoë Müller {chr(65 + i % 26)}",
        "owner": "alice",
        "email": f"zoe{i}@example.com",
        "phone": f"+44 7700 {900000 + i:06d}",
        "postal_address": f"{i} Hauptstraße, Köln",
        "birth_date": dt.date(1980, 1, 1),
        "consent_marketing_post": True,
    }
    values.update(changes)
    return CustomerInput(**values)


def test_existing_external_ids_in_one_statement(hush: Hush) -> None:
    ctx = hush.context("alice", "service")
    hush.writes.import_customers(ctx, [(i + 2, customer(i)) for i in range(5)])
    store = hush.writes.store
    with hush.engine.connect() as conn:
        asked = [f"S{i:04d}" for i in range(3, 9)] + ["S0003", 'it\'s "quoted" [1]']
        assert store.existing_external_ids(conn, asked) == {"S0003", "S0004"}
        assert store.existing_external_ids(conn, []) == set()
        many = [f"X{i}" for i in range(3000)] + ["S0000"]  # more than any placeholder limit
        assert store.existing_external_ids(conn, many) == {"S0000"}


def test_reimport_reports_stored_and_repeated_ids_by_line(hush: Hush) -> None:
    ctx = hush.context("alice", "service")
    first = hush.writes.import_customers(ctx, [(i + 2, customer(i)) for i in range(4)])
    assert first.imported == 4 and not first.rejected
    rows: list[tuple[int, CustomerInput | RowError]] = [
        (2, customer(1)),  # stored already
        (3, customer(10)),
        (4, customer(10)),  # twice in this file
        (5, RowError(5, "row is not valid UTF-8")),
        (6, customer(11, email="not-an-email")),  # kept as given, with a warning
    ]
    report = hush.writes.import_customers(ctx, rows)
    reasons = {r.line: r.reason for r in report.rejected}
    assert reasons[2] == "duplicate external_id (already stored)"
    assert reasons[4] == "duplicate external_id in this file"
    assert reasons[5] == "row is not valid UTF-8"
    assert [(w.line, w.field) for w in report.warnings] == [(6, "email")]
    with hush.engine.connect() as conn:
        stored = set(conn.execute(sa.select(customers_t.c.external_id)).scalars())
    assert {"S0010", "S0011"} <= stored


def test_rows_for_another_owner_are_refused_and_audited(hush: Hush) -> None:
    ctx = hush.context("alice", "service")  # alice is a sales rep: she may create only her own customers
    rows: list[tuple[int, CustomerInput | RowError]] = [(2, customer(1)), (3, customer(2, owner="bob"))]
    report = hush.writes.import_customers(ctx, rows)
    assert report.imported == 1
    assert [(r.line, r.reason) for r in report.rejected] == [
        (3, "owner must be the importing subject for this role")
    ]
    with hush.engine.connect() as conn:
        denied = queries.events(conn, denied_only=True, limit=50)
    assert [(e["action"], e["row_count"]) for e in denied] == [("write", 1)]


def test_worker_rows_round_trip_exactly(hush: Hush) -> None:
    """Rows prepared from plain value rows (not dataclasses) come back from the pipe equal."""
    store = hush.writes.store
    now = utcnow()
    items = [
        _input_values(customer(0)),
        None,
        _input_values(customer(2, full_name=" ")),
        _input_values(customer(3)),
    ]
    outcomes = _prepare_values(store, items, now)
    assert outcomes[1] is None and isinstance(outcomes[2], InputError)
    back = _from_wire(pickle.loads(pickle.dumps(_to_wire(outcomes))))  # noqa: S301 - our own bytes
    assert back[1] is None and isinstance(back[2], InputError)
    for got, want in ((back[0], outcomes[0]), (back[3], outcomes[3])):
        assert got == want
        assert got.data_key == want.data_key  # type: ignore[union-attr]
        assert got.row == want.row and got.key_row == want.key_row  # type: ignore[union-attr]
        assert got.created_at == now  # type: ignore[union-attr]
    direct = store.prepare(customer(0), now=now, random=b"\x00" * 42)
    again = _prepare_values(store, [_input_values(customer(0))], now)[0]
    assert isinstance(again, type(direct)) and again.external_id == direct.external_id
    assert again.row[4:] != direct.row[4:]  # fresh nonces and keys, same shape
    assert len(again.row) == len(direct.row) and again.consents == direct.consents


def test_import_raises_the_young_gc_threshold_and_restores_it(hush: Hush) -> None:
    before = gc.get_threshold()
    seen: list[tuple[int, int, int]] = []
    real = prepare_pool._prepare_values

    def spying(*args: Any) -> Any:
        seen.append(gc.get_threshold())
        return real(*args)

    try:
        prepare_pool._prepare_values = spying  # type: ignore[assignment]
        with PreparePool(hush.writes.store, workers=0) as outer:
            with PreparePool(hush.writes.store, workers=0):  # imports may overlap (server threads)
                pass
            outer.collect(outer.submit([customer(1)], now=utcnow()))
    finally:
        prepare_pool._prepare_values = real  # type: ignore[assignment]
    assert seen and seen[0][0] == max(before[0], prepare_pool.GC_YOUNG_THRESHOLD)
    assert gc.get_threshold() == before
