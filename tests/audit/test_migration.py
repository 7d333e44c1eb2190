"""Migration 0006: a store written in the 0002 layout (audit_event_refs) keeps its evidence.

The events are written here as the 0002-era log wrote them: rows of
``audit_events`` plus one ``audit_event_refs`` row per distinct reference.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import Connection, Engine

from audit.events import GENESIS_HASH, AuditEvent, canonical_record_bytes, record_hash
from audit.log import AuditLog
from audit.queries import access_report
from audit.refs import RecordRefs
from audit.signing import Ed25519Signer
from audit.verify import VerifyReport, verify_engine
from core.db import alembic_config, create_db_engine, migrate

BEFORE = "0005_profiles"
TS = "2025-01-01T00:00:00.000000Z"


@pytest.fixture
def old_engine(database_url: str) -> Iterator[Engine]:
    engine = create_db_engine(database_url)
    command.upgrade(alembic_config(engine), BEFORE)
    yield engine
    engine.dispose()


def _old_events(make_event: Callable[..., AuditEvent], refs: RecordRefs) -> list[AuditEvent]:
    big = {5: 10_000, 6: 10_000, 8: 7_000}  # enough references to span three partitions of 16,384
    return [
        make_event(
            i, record_refs=(*tuple(refs.ref(f"bulk-{i}-{j}") for j in range(big[i])), refs.ref("cust-1"))
        )
        if i in big
        else make_event(i)
        for i in range(30)
    ]


def _write_old_layout(conn: Connection, events: list[AuditEvent]) -> None:
    prev = GENESIS_HASH
    for seq, event in enumerate(events, start=1):
        roles, fields, record_refs, detail = event.column_json()
        row = {
            "seq": seq, "ts": TS, "subject": event.subject, "roles": roles, "purpose": event.purpose,
            "action": event.action, "resource": event.resource, "fields": fields, "decision": event.decision,
            "row_count": event.row_count, "request_id": event.request_id, "record_refs": record_refs,
            "detail": detail, "prev_hash": prev,
        }  # fmt: skip
        row["hash"] = record_hash(
            canonical_record_bytes(
                seq=seq, ts=TS, subject=event.subject, roles_json=roles, purpose=event.purpose,
                action=event.action, resource=event.resource, fields_json=fields, decision=event.decision,
                row_count=event.row_count, request_id=event.request_id, record_refs_json=record_refs,
                detail_json=detail, prev_hash=prev,
            )
        )  # fmt: skip
        conn.execute(sa.text(f"INSERT INTO audit_events ({', '.join(row)}) VALUES (:{', :'.join(row)})"), row)
        if event.record_refs:
            conn.execute(
                sa.text("INSERT INTO audit_event_refs (seq, ref) VALUES (:s, :r)"),
                [{"s": seq, "r": ref} for ref in sorted(set(event.record_refs))],
            )
        prev = str(row["hash"])
    conn.execute(
        sa.text("UPDATE audit_head SET seq = :s, hash = :h WHERE id = 1"), {"s": len(events), "h": prev}
    )


def _verify(engine: Engine, checkpoints_path: Path, signer: Ed25519Signer) -> VerifyReport:
    return verify_engine(engine, checkpoints_path=checkpoints_path, public_key=signer.public_key)


def _report_seqs(engine: Engine, ref: str) -> list[int]:
    with engine.connect() as conn:
        seqs = [int(r["seq"]) for r in access_report(conn, ref)]
        conn.rollback()
    return seqs


def test_upgrade_moves_the_index_and_the_log_keeps_going(
    old_engine: Engine, make_event: Callable[..., AuditEvent], refs: RecordRefs,
    make_log: Callable[..., AuditLog], checkpoints_path: Path, signer: Ed25519Signer,
) -> None:  # fmt: skip
    events = _old_events(make_event, refs)
    with old_engine.begin() as conn:
        _write_old_layout(conn, events)
    migrate(old_engine)
    with old_engine.connect() as conn:
        parts = conn.execute(sa.text("SELECT COUNT(DISTINCT part), COUNT(*) FROM audit_ref_index")).one()
        tables = set(sa.inspect(conn).get_table_names())
        conn.rollback()
    assert parts[0] == 3 and parts[1] == sum(len(set(e.record_refs)) for e in events)
    assert "audit_event_refs" not in tables
    assert _verify(old_engine, checkpoints_path, signer).ok
    cust1 = [seq for seq, e in enumerate(events, start=1) if refs.ref("cust-1") in e.record_refs]
    assert _report_seqs(old_engine, refs.ref("cust-1")) == cust1 and len(cust1) > 3
    log = make_log(every=5)  # the new writer continues from the migrated partition state
    with old_engine.begin() as conn:
        seq = log.append(conn, make_event(31, record_refs=(refs.ref("cust-1"),)))
    log.publish_checkpoints(old_engine)
    assert _report_seqs(old_engine, refs.ref("cust-1")) == [*cust1, seq]
    report = _verify(old_engine, checkpoints_path, signer)
    assert report.ok, report.reason


def test_upgrade_keeps_a_forged_old_reference_row_as_evidence(
    old_engine: Engine, make_event: Callable[..., AuditEvent], refs: RecordRefs, checkpoints_path: Path,
    signer: Ed25519Signer,
) -> None:  # fmt: skip
    events = _old_events(make_event, refs)
    with old_engine.begin() as conn:
        _write_old_layout(conn, events)
        # before the upgrade, someone pins a record on event 12 (INSERT was never blocked)
        conn.execute(sa.text("INSERT INTO audit_event_refs (seq, ref) VALUES (12, :r)"), {"r": "e" * 32})
    migrate(old_engine)
    report = _verify(old_engine, checkpoints_path, signer)
    assert not report.ok and report.first_bad_seq == 12, report.reason


def test_downgrade_rebuilds_the_old_table_from_the_events(
    old_engine: Engine, make_event: Callable[..., AuditEvent], refs: RecordRefs, checkpoints_path: Path,
    signer: Ed25519Signer,
) -> None:  # fmt: skip
    events = [make_event(i) for i in range(12)]
    with old_engine.begin() as conn:
        _write_old_layout(conn, events)
    migrate(old_engine)
    command.downgrade(alembic_config(old_engine), BEFORE)
    with old_engine.connect() as conn:
        rows = {
            (int(r[0]), str(r[1])) for r in conn.execute(sa.text("SELECT seq, ref FROM audit_event_refs"))
        }
        conn.rollback()
    assert rows == {(seq, ref) for seq, e in enumerate(events, start=1) for ref in e.record_refs}
    with pytest.raises(sa.exc.DBAPIError, match="hushdb"), old_engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM audit_event_refs")  # append-only again
    migrate(old_engine)
    assert _verify(old_engine, checkpoints_path, signer).ok
