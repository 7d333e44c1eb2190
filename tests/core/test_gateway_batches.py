"""The scan's batch reader against values computed independently, row by row, from the plan.

The gateway decrypts and masks a batch column by column; these tests rebuild
every record the slow way (plaintext from a full read, then the plan's mask
for each field) and compare, for every role that may scan, over several
batches, with fields left empty, erased customers and key order.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
import sqlalchemy as sa

from api.wiring import Hush
from audit.queries import access_report
from core.errors import AccessDenied
from core.models import customers_t
from core.records import CONSENT_KEYS, CUSTOMER_FIELDS, PII_FIELDS, SUPPRESSION_KEYS, CustomerInput
from policies.masks import mask_function

SCANNERS = [
    ("alice", "service"),
    ("mailer", "marketing"),
    ("cora", "compliance"),
    ("ana", "profiling"),
    ("ana", "data_quality"),
    ("dana", "erasure"),
]


def _seed(hush: Hush) -> list[CustomerInput]:
    people = [
        CustomerInput(
            external_id=f"K{i:02d}",
            full_name=f"Kim Number{i} Example",
            owner="alice" if i % 3 else "bob",
            email=f"kim{i}@example.com" if i % 4 else None,
            phone=f"+44 7700 9001{i:02d}" if i % 2 else None,
            postal_address=f"{i} Mill Lane, York" if i % 5 else None,
            birth_date=dt.date(1980, 1, 1) + dt.timedelta(days=97 * i) if i % 3 != 1 else None,
            consent_marketing_email=i % 2 == 0,
            consent_marketing_post=i % 3 == 0,
            consent_profiling=i % 4 != 0,
            do_not_contact=i == 7,
            deceased=i == 8,
        )
        for i in range(11)
    ]
    for person in people:
        hush.writes.create(hush.context(person.owner, "service"), person)
    return people


def _expected(hush: Hush, subject: str, purpose: str, people: list[CustomerInput]) -> dict[str, Any]:
    """{external_id: values} built row by row from the plan and the plaintext of a full read."""
    full = {r.external_id: r for r in hush.gateway.scan_customers(hush.context("dana", "erasure"))}
    ctx = hush.context(subject, purpose)
    plan = hush.gateway.authorize(
        ctx, resource="customer", action="read", fields=None, all_fields=CUSTOMER_FIELDS
    )
    key = hush.keyring.mask_hash_key
    out: dict[str, Any] = {}
    for person in people:
        if plan.scope == "own" and person.owner != subject:
            continue
        plain = full[person.external_id]
        values: dict[str, Any] = {}
        shown = [f for f in PII_FIELDS if f in plan.allowed and plan.masks.get(f, "none") != "none"]
        withheld = [f for f in PII_FIELDS if f in plan.allowed and plan.masks.get(f, "none") == "none"]
        for f in shown:
            values[f] = mask_function(plan.masks[f], f, hash_key=key)(plain.values[f])
        for f in withheld:
            values[f] = None
        columns = {"external_id": plain.external_id, "pseudonym": plain.pseudonym, "owner": person.owner}
        for f in ("external_id", "pseudonym", "owner"):
            if f in plan.allowed:
                values[f] = mask_function(plan.masks.get(f, "none"), f, hash_key=key)(columns[f])
        if "created_at" in plan.allowed:
            values["created_at"] = mask_function(
                plan.masks.get("created_at", "none"), "created_at", hash_key=key
            )(plain.values["created_at"])
        if "consent" in plan.allowed:
            values["consent"] = {k: bool(getattr(person, f"consent_{k}")) for k in CONSENT_KEYS}
        if "suppression" in plan.allowed:
            flags = {
                "do_not_contact": person.do_not_contact,
                "deceased": person.deceased,
                "under_review": False,
            }
            values["suppression"] = {k: flags[k] for k in SUPPRESSION_KEYS}
        out[person.external_id] = values
    return out


@pytest.mark.parametrize(("subject", "purpose"), SCANNERS)
def test_scan_values_equal_the_plan_applied_row_by_row(hush: Hush, subject: str, purpose: str) -> None:
    people = _seed(hush)
    expected = _expected(hush, subject, purpose, people)
    ctx = hush.context(subject, purpose)
    got = {r.external_id: r for r in hush.gateway.scan_customers(ctx, batch_size=3)}
    assert sorted(got) == sorted(expected)
    for external_id, values in expected.items():
        record = got[external_id]
        assert dict(record.values) == values, external_id
        assert list(record.values) == list(values), external_id  # same key order as before
        if purpose == "marketing":  # no single-customer read outside a campaign (issue 15)
            with pytest.raises(AccessDenied):
                hush.gateway.read_customer(ctx, external_id)
        else:
            assert record.values == hush.gateway.read_customer(ctx, external_id).values


def test_scan_skips_erased_customers_and_audits_each_returned_record(hush: Hush) -> None:
    people = _seed(hush)
    hush.writes.erase(hush.context("dana", "erasure"), "K04")
    ctx = hush.context("dana", "erasure")
    got = [r.external_id for r in hush.gateway.scan_customers(ctx, fields=["full_name"], batch_size=4)]
    assert sorted(got) == sorted(p.external_id for p in people if p.external_id != "K04")
    with hush.engine.connect() as conn:
        ids = dict(conn.execute(sa.select(customers_t.c.external_id, customers_t.c.id)).all())
        reads = conn.execute(
            sa.text("SELECT record_refs, row_count FROM audit_events WHERE request_id = :r ORDER BY seq"),
            {"r": ctx.request_id},
        ).all()
        refs = [ref for row in reads for ref in json.loads(row[0])]
        assert [row[1] for row in reads] == [4, 4, 2]
        assert refs == [hush.gateway.refs.ref(ids[e]) for e in got]  # one per record, in order
        for e in got:
            seqs = [r["seq"] for r in access_report(conn, hush.gateway.refs.ref(ids[e]))]
            assert seqs, e
        conn.rollback()


def test_records_built_on_the_hot_path_are_ordinary_frozen_records() -> None:
    import dataclasses

    from core.gateway import CustomerRecord, _build_record

    values = {"email": "x@example.com"}
    built = _build_record("E1", "p-1", values)
    plain = CustomerRecord(external_id="E1", pseudonym="p-1", values=values)
    assert type(built) is CustomerRecord
    assert built == plain and repr(built) == repr(plain) and hash(built.external_id) == hash("E1")
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.external_id = "E2"  # type: ignore[misc]


def test_scan_after_an_id_returns_only_later_ids_and_audits_them(hush: Hush) -> None:
    """``after`` is the keyset bound of a scan (mail-merge pages use it): ids above it, in id order."""
    _seed(hush)
    ctx = hush.context("dana", "erasure")
    with hush.engine.connect() as conn:
        ids = conn.execute(sa.select(customers_t.c.id).order_by(customers_t.c.id)).scalars().all()
    everything = [r.external_id for r in hush.gateway.scan_customers(ctx, batch_size=3)]
    later = [r.external_id for r in hush.gateway.scan_customers(ctx, after=ids[4], batch_size=3)]
    assert later == everything[5:]
    assert [r.external_id for r in hush.gateway.scan_customers(ctx, after=ids[-1])] == []


def test_an_import_refreshes_planner_statistics_on_postgresql(hush: Hush) -> None:
    people = [
        CustomerInput(external_id=f"S{i:03d}", full_name=f"Sam Number{i}", owner="alice") for i in range(60)
    ]
    report = hush.writes.import_customers(hush.context("alice", "service"), enumerate(people, start=2))
    assert report.imported == 60  # more than 50 + 10% of the rows the planner knew of (none)
    with hush.engine.connect() as conn:
        if conn.dialect.name != "postgresql":
            return  # SQLite plans without statistics
        analysed = dict(
            conn.exec_driver_sql(
                "SELECT relname, last_analyze IS NOT NULL FROM pg_stat_user_tables "
                "WHERE relname IN ('customers', 'customer_keys', 'consent_events')"
            ).all()
        )
    assert analysed == {"customers": True, "customer_keys": True, "consent_events": True}


def test_statistics_refresh_failure_is_logged_not_raised(
    hush: Hush, caplog: pytest.LogCaptureFixture
) -> None:
    from core.db import refresh_statistics

    assert not refresh_statistics(hush.engine, ["customers"], rows_added=0)  # nothing added: nothing to do
    # an optimisation only: a failure never fails the load
    assert not refresh_statistics(hush.engine, ["no_such_table"], rows_added=1000)
    if hush.engine.dialect.name == "postgresql":
        assert "ANALYZE after the bulk load failed (ProgrammingError)" in caplog.text
        assert refresh_statistics(
            hush.engine, ["customers"], rows_added=1000
        )  # never analysed: -1 rows known
        assert not refresh_statistics(hush.engine, ["customers"], rows_added=10)  # below 50 + 10%
