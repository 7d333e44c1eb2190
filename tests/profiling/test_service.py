"""Governed profiling runs on a real store (SQLite and PostgreSQL): consent, audit, storage, policy."""

from __future__ import annotations

import json
from typing import Any

import pytest
import sqlalchemy as sa

from api.wiring import Hush
from audit.tables import audit_events
from core.errors import AccessDenied
from core.models import customers_t, transactions_t
from core.profiling.governed import code_version
from core.profiling.quality_service import DataQualityService
from core.profiling.results import (
    latest_recommendations,
    latest_segments,
    profile_results_t,
    profile_runs_t,
)
from core.profiling.service import ProfilingService
from core.records import CustomerInput


def _pseudonym(hush: Hush, external_id: str) -> str:
    with hush.engine.connect() as conn:
        return str(
            conn.execute(
                sa.select(customers_t.c.pseudonym).where(customers_t.c.external_id == external_id)
            ).scalar_one()
        )


def _buyers_with_consent(hush: Hush) -> list[tuple[str, str, str]]:
    """(external_id, owner, pseudonym) of consenting customers with at least two purchases."""
    with hush.engine.connect() as conn:
        rows = conn.execute(
            sa.select(customers_t.c.external_id, customers_t.c.owner, customers_t.c.pseudonym)
            .join(transactions_t, transactions_t.c.customer_id == customers_t.c.id)
            .where(customers_t.c.consent_profiling.is_(True))
            .group_by(customers_t.c.external_id, customers_t.c.owner, customers_t.c.pseudonym)
            .having(sa.func.count() >= 2)
            .order_by(customers_t.c.external_id)
        ).all()
    return [(str(a), str(b), str(c)) for a, b, c in rows]


def _every_output(hush: Hush) -> dict[str, Any]:
    """Run every profiling kind; return each run and the pseudonyms it names anywhere."""
    svc = ProfilingService(gateway=hush.gateway)
    ctx = hush.context("ana", "profiling")
    runs: dict[str, Any] = {
        "rfm": svc.rfm(ctx),
        "clv": svc.clv(ctx),
        "churn": svc.churn(ctx, threshold=0.99, k=0.1),
        "cross_sell": svc.cross_sell(ctx, top_n=2),
        "quality": DataQualityService(gateway=hush.gateway).run(hush.context("ana", "data_quality")),
    }
    return runs


def _named(run: Any) -> set[str]:
    names: set[str] = set()
    for attr in ("scores", "results", "flags"):
        names |= {x.customer_id for x in getattr(run, attr, [])}
    names |= set(getattr(run, "recommendations", {}))
    for group in getattr(run, "duplicates", []):
        names |= set(group.customer_ids)
    for pair in getattr(run, "similar_names", []):
        names |= {pair.first, pair.second}
    names |= {i.customer_id for i in getattr(run, "invalid", [])}
    return names


def _stored(hush: Hush, run_id: str) -> set[str]:
    with hush.engine.connect() as conn:
        rows = conn.execute(
            sa.select(profile_results_t.c.pseudonym, profile_results_t.c.data).where(
                profile_results_t.c.run_id == run_id
            )
        ).all()
    return {str(p) for p, _ in rows} | {w for _, d in rows for w in json.dumps(json.loads(d)).split('"')}


def test_objector_and_erased_customer_disappear_from_every_output(demo: Hush) -> None:
    hush = demo
    (obj_id, obj_owner, obj_p), (er_id, _, er_p), *_ = _buyers_with_consent(hush)
    # Give the objector a twin (same email and name) so data quality would otherwise pair them.
    before = _every_output(hush)
    assert obj_p in _named(before["rfm"]) and er_p in _named(before["clv"])
    hush.writes.set_consents(hush.context(obj_owner, "service"), obj_id, {"profiling": False}, source="test")
    hush.writes.erase(hush.context("dana", "erasure"), er_id)
    after = _every_output(hush)
    for kind, run in after.items():
        assert obj_p not in _named(run), kind
        assert er_p not in _named(run), kind
        assert obj_p not in _stored(hush, run.receipt.run_id), kind
        assert er_p not in _stored(hush, run.receipt.run_id), kind
        b, a = before[kind].receipt.population, run.receipt.population
        assert (a.objected, a.erased) == (b.objected + 1, b.erased + 1), kind
        assert a.eligible == b.eligible - 2, kind
    with hush.engine.connect() as conn:
        assert obj_p not in latest_segments(conn) and er_p not in latest_recommendations(conn)


def test_objector_never_paired_in_quality(demo: Hush) -> None:
    hush = demo
    ctx = hush.context("alice", "service")
    twin = dict(
        full_name="Zebedee Quarrington", owner="alice", email="zq@example.com", consent_profiling=True
    )
    hush.writes.create(ctx, CustomerInput(external_id="T1", **twin))  # type: ignore[arg-type]
    hush.writes.create(ctx, CustomerInput(external_id="T2", **twin))  # type: ignore[arg-type]
    p1, p2 = _pseudonym(hush, "T1"), _pseudonym(hush, "T2")
    dq = DataQualityService(gateway=hush.gateway)
    run = dq.run(hush.context("ana", "data_quality"))
    assert any({p1, p2} <= set(g.customer_ids) and "email" in g.reasons for g in run.duplicates)
    assert any({p.first, p.second} == {p1, p2} for p in run.similar_names)
    hush.writes.set_consents(ctx, "T2", {"profiling": False}, source="test")
    run = dq.run(hush.context("ana", "data_quality"))
    assert p2 not in _named(run)
    assert all(p1 not in g.customer_ids for g in run.duplicates)


def test_each_run_audits_its_inputs_parameters_and_code_version(demo: Hush) -> None:
    runs = _every_output(demo)
    expected_inputs = {
        "rfm": ["customer.pseudonym", "customer.consent", "transaction.occurred_at", "transaction.amount"],
        "clv": ["customer.pseudonym", "customer.consent", "transaction.occurred_at", "transaction.amount"],
        "churn": ["customer.pseudonym", "customer.consent", "transaction.occurred_at", "transaction.amount"],
        "cross_sell": [
            "customer.pseudonym",
            "customer.consent",
            "transaction.occurred_at",
            "transaction.product",
        ],
        "quality": [
            "customer.pseudonym",
            "customer.consent",
            "customer.full_name",
            "customer.email",
            "customer.phone",
        ],
    }
    with demo.engine.connect() as conn:
        for kind, run in runs.items():
            row = conn.execute(
                sa.select(audit_events).where(audit_events.c.seq == run.receipt.audit_seq)
            ).one()
            assert (row.action, row.resource, row.decision) == ("profile", "profile", "allow")
            assert json.loads(row.fields) == expected_inputs[kind]
            assert row.row_count == run.receipt.row_count
            detail = json.loads(row.detail)
            assert detail["kind"] == kind and detail["run_id"] == run.receipt.run_id
            assert detail["code_version"] == code_version() and "core.profiling" in detail["code_version"]
            assert detail["left_out"] == run.receipt.population.left_out
            stored = conn.execute(
                sa.select(profile_runs_t).where(profile_runs_t.c.id == run.receipt.run_id)
            ).one()
            assert stored.audit_seq == run.receipt.audit_seq and stored.kind == kind
        clv = json.loads(
            conn.execute(
                sa.select(audit_events.c.detail).where(audit_events.c.seq == runs["clv"].receipt.audit_seq)
            ).scalar_one()
        )
        assert (clv["param_time_unit"], clv["param_months"]) == ("week", 12)
        assert float(clv["param_horizon"]) == 52.0 and float(clv["param_discount"]) == 0.01


def test_results_are_stored_and_read_back_by_pseudonym(demo: Hush) -> None:
    svc = ProfilingService(gateway=demo.gateway)
    ctx = demo.context("ana", "profiling")
    rfm = svc.rfm(ctx)
    xs = svc.cross_sell(ctx, top_n=3)
    with demo.engine.connect() as conn:
        segments = latest_segments(conn)
        recs = latest_recommendations(conn)
    assert segments == {s.customer_id: s.segment for s in rfm.scores}
    assert recs == {p: items[0].product for p, items in xs.recommendations.items() if items}
    assert segments and all(p.startswith("p_") for p in segments)
    # A newer run replaces what readers see.
    later = svc.rfm(ctx, as_of=rfm.as_of.replace(year=rfm.as_of.year - 5))
    with demo.engine.connect() as conn:
        assert latest_segments(conn) == {s.customer_id: s.segment for s in later.scores}


def test_results_never_hold_names_or_ids(demo: Hush) -> None:
    ctx = demo.context("alice", "service")
    for ext in ("V1", "V2"):
        demo.writes.create(
            ctx,
            CustomerInput(
                external_id=ext,
                full_name="Xanthippe Vandersloot",
                owner="alice",
                email="xanthippe.v@example.org",
                phone="+44 7700 900123",
                consent_profiling=True,
            ),
        )
    runs = _every_output(demo)
    assert any(_pseudonym(demo, "V1") in _named(r) for r in runs.values())  # the planted twins are found
    with demo.engine.connect() as conn:
        ids = list(conn.execute(sa.select(customers_t.c.id, customers_t.c.external_id)).all())
        blob = " ".join(
            str(v)
            for row in conn.execute(
                sa.select(profile_results_t, profile_runs_t.c.summary).join(profile_runs_t)
            )
            for v in row
        )
        audit_blob = " ".join(
            str(v)
            for row in conn.execute(sa.select(audit_events.c.detail, audit_events.c.fields))
            for v in row
        )
    for internal, external in ids:
        assert internal not in blob and f'"{external}"' not in blob
    for text in (blob, audit_blob):
        for secret in ("Xanthippe", "xanthippe", "Vandersloot", "vandersloot", "7700 900123", "7700900123"):
            assert secret not in text


def test_policy_governs_every_run(demo: Hush) -> None:
    svc = ProfilingService(gateway=demo.gateway)
    dq = DataQualityService(gateway=demo.gateway)
    with pytest.raises(AccessDenied):
        svc.rfm(demo.context("alice", "profiling"))  # sales may not profile
    with pytest.raises(AccessDenied):
        dq.run(demo.context("ana", "profiling"))  # quality only for purpose data_quality
    with pytest.raises(AccessDenied):
        dq.name_pairs(demo.context("ana", "profiling"))
    with pytest.raises(AccessDenied):
        svc.clv(demo.context("cora", "compliance"))
    with demo.engine.connect() as conn:
        denials = conn.execute(
            sa.select(sa.func.count()).where(
                audit_events.c.decision == "deny", audit_events.c.subject == "ana"
            )
        ).scalar_one()
        assert denials >= 2
        assert conn.execute(sa.select(sa.func.count()).select_from(profile_runs_t)).scalar_one() == 0


def test_name_pairs_return_pseudonyms_only_and_are_audited(demo: Hush) -> None:
    ctx = demo.context("alice", "service")
    for ext, name in (("N1", "Józef Brzęczyszczykiewicz"), ("N2", "jozef brzeczyszczykiewicz.")):
        demo.writes.create(
            ctx, CustomerInput(external_id=ext, full_name=name, owner="alice", consent_profiling=True)
        )
    pairs = DataQualityService(gateway=demo.gateway).name_pairs(demo.context("ana", "data_quality"))
    n1, n2 = _pseudonym(demo, "N1"), _pseudonym(demo, "N2")
    assert any({p.first, p.second} == {n1, n2} for p in pairs)
    assert all(isinstance(p.first, str) and p.first.startswith("p_") for p in pairs)
    with demo.engine.connect() as conn:
        last = conn.execute(sa.select(audit_events).order_by(audit_events.c.seq.desc()).limit(1)).one()
    assert (last.subject, last.purpose, last.action, last.resource) == (
        "ana",
        "data_quality",
        "read",
        "customer",
    )
    assert "full_name" in json.loads(last.fields) and last.row_count >= 2
