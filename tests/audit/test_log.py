"""Appending: gap-free seqs, the hash chain, fail closed, checkpoints in the DB and outside it."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from audit.checkpoints import Checkpoint, read_checkpoints_file
from audit.events import GENESIS_HASH, AuditEvent, canonical_record_bytes, record_hash
from audit.log import AuditLog
from audit.memory import InMemoryAuditSink, InMemoryCheckpointSink
from audit.refindex import ref_key
from audit.signing import Ed25519Signer, verify_signature
from core.errors import AuditWriteError


def _rows(engine: Engine) -> list[sa.RowMapping]:
    with engine.connect() as conn:
        rows = list(conn.execute(sa.text("SELECT * FROM audit_events ORDER BY seq")).mappings())
        conn.rollback()
    return rows


def test_appends_form_a_gap_free_hash_chain(
    engine: Engine, audit_log: AuditLog, make_event: Callable[..., AuditEvent]
) -> None:
    seqs = []
    for i in range(5):
        with engine.begin() as conn:
            seqs.append(audit_log.append(conn, make_event(i)))
    with engine.begin() as conn:
        first, last = audit_log.append_many(conn, [make_event(i) for i in range(5, 12)])
    assert seqs == [1, 2, 3, 4, 5] and (first, last) == (6, 12)
    rows = _rows(engine)
    assert [r["seq"] for r in rows] == list(range(1, 13))
    prev = GENESIS_HASH
    for r in rows:
        assert r["prev_hash"] == prev
        canonical = canonical_record_bytes(
            seq=r["seq"], ts=r["ts"], subject=r["subject"], roles_json=r["roles"], purpose=r["purpose"],
            action=r["action"], resource=r["resource"], fields_json=r["fields"], decision=r["decision"],
            row_count=r["row_count"], request_id=r["request_id"], record_refs_json=r["record_refs"],
            detail_json=r["detail"], prev_hash=r["prev_hash"], channel=r["channel"], os_user=r["os_user"],
        )  # fmt: skip
        assert r["channel"] == "system" and r["os_user"] == ""  # make_event's defaults
        assert r["hash"] == record_hash(canonical)
        # the stored record is canonical JSON of its own values
        record = {k: r[k] for k in r if k != "hash"}
        for key in ("roles", "fields", "record_refs", "detail"):
            record[key] = json.loads(record[key])
        spec = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert canonical == spec.encode("utf-8")
        prev = r["hash"]
    with engine.connect() as conn:
        assert audit_log.head(conn) == (12, prev)


def test_rolled_back_transaction_gives_its_seqs_back(
    engine: Engine, audit_log: AuditLog, make_event: Callable[..., AuditEvent]
) -> None:
    with engine.begin() as conn:
        audit_log.append(conn, make_event(0))
    with engine.connect() as conn:
        conn.begin()
        audit_log.append_many(conn, [make_event(1), make_event(2)])
        conn.rollback()  # the access failed after the audit write
    with engine.begin() as conn:
        assert audit_log.append(conn, make_event(3)) == 2
    assert [r["seq"] for r in _rows(engine)] == [1, 2]


def test_record_refs_are_indexed_and_no_plaintext_is_stored(
    engine: Engine, audit_log: AuditLog, make_event: Callable[..., AuditEvent]
) -> None:
    event = make_event(1)
    with engine.begin() as conn:
        seq = audit_log.append(conn, event)
    with engine.connect() as conn:
        stored: set[int] = set(
            conn.execute(sa.text("SELECT ref_key FROM audit_ref_index WHERE seq = :s"), {"s": seq}).scalars()
        )
        dump = " ".join(str(v) for r in conn.execute(sa.text("SELECT * FROM audit_events")) for v in r)
        conn.rollback()
    assert stored == {ref_key(r) for r in event.record_refs} and len(stored) == 2
    assert "cust-" not in dump


def test_unwritable_audit_table_fails_closed(
    engine: Engine, audit_log: AuditLog, make_event: Callable[..., AuditEvent]
) -> None:
    role = f"hushdb_ro_{uuid.uuid4().hex[:10]}"
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql(
                "CREATE TRIGGER block_audit BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'x'); END"
            )
        else:
            conn.exec_driver_sql("REVOKE INSERT ON audit_events FROM PUBLIC")
            conn.exec_driver_sql(f"CREATE ROLE {role}")
            conn.exec_driver_sql(f"GRANT SELECT, UPDATE ON audit_head TO {role}")
            conn.exec_driver_sql(f"GRANT SELECT ON audit_events TO {role}")
    try:
        with engine.connect() as conn:
            conn.begin()
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql(f"SET LOCAL ROLE {role}")
            with pytest.raises(AuditWriteError) as info:
                audit_log.append(conn, make_event(0))
            conn.rollback()
        assert isinstance(info.value.__cause__, sa.exc.SQLAlchemyError)
        assert _rows(engine) == []
    finally:
        if engine.dialect.name == "postgresql":
            with engine.begin() as conn:
                conn.exec_driver_sql(f"DROP OWNED BY {role}")
                conn.exec_driver_sql(f"DROP ROLE {role}")


def test_missing_head_row_is_an_audit_write_error(
    engine: Engine, audit_log: AuditLog, make_event: Callable[..., AuditEvent], tools: Any
) -> None:
    with tools.rogue_admin(engine) as conn:
        conn.exec_driver_sql("DELETE FROM audit_head")
    with pytest.raises(AuditWriteError), engine.begin() as conn:
        audit_log.append(conn, make_event(0))


def test_empty_batch_is_refused(engine: Engine, audit_log: AuditLog) -> None:
    with pytest.raises(AuditWriteError), engine.begin() as conn:
        audit_log.append_many(conn, [])


def test_checkpoint_every_n_events_signed_and_published_after_commit(
    engine: Engine,
    make_log: Callable[..., AuditLog],
    make_event: Callable[..., AuditEvent],
    checkpoints_path: Path,
    signer: Ed25519Signer,
    tools: Any,
) -> None:
    log = make_log(every=4)
    tools.append_n(engine, log, make_event, 13)
    with engine.connect() as conn:
        db_seqs: list[int] = list(
            conn.execute(sa.text("SELECT seq FROM audit_checkpoints ORDER BY seq")).scalars()
        )
        hashes = {r[0]: r[1] for r in conn.execute(sa.text("SELECT seq, hash FROM audit_events"))}
        conn.rollback()
    assert db_seqs == [1, 5, 9, 13]  # the first append anchors the chain, then every 4 events
    external = read_checkpoints_file(checkpoints_path).checkpoints
    assert [cp.seq for cp in external] == db_seqs
    for cp in external:
        assert cp.hash == hashes[cp.seq] and cp.key_id == signer.key_id
        assert verify_signature(signer.public_key, cp.message(), cp.signature_bytes())


def test_checkpoint_after_t_seconds(
    engine: Engine, make_log: Callable[..., AuditLog], make_event: Callable[..., AuditEvent], clock: Any
) -> None:
    log = make_log(every=1000, seconds=60)
    sink = InMemoryCheckpointSink()
    log._sink = sink  # the seam: any CheckpointSink
    for i in range(3):
        with engine.begin() as conn:
            log.append(conn, make_event(i))
        clock.advance(20)
    clock.advance(30)
    with engine.begin() as conn:
        log.append(conn, make_event(3))
    log.publish_checkpoints(engine)
    assert [cp.seq for cp in sink.checkpoints] == [1, 4]


def test_checkpoint_file_never_gets_a_rolled_back_checkpoint(
    engine: Engine,
    make_log: Callable[..., AuditLog],
    make_event: Callable[..., AuditEvent],
    checkpoints_path: Path,
) -> None:
    log = make_log(every=2)
    with engine.begin() as conn:
        log.append(conn, make_event(0))  # seq 1: anchor checkpoint
    log.publish_checkpoints(engine)
    with engine.connect() as conn:
        conn.begin()
        log.append_many(conn, [make_event(1), make_event(2)])  # would checkpoint seq 3
        conn.rollback()
    log.publish_checkpoints(engine, force=True)
    assert [cp.seq for cp in read_checkpoints_file(checkpoints_path).checkpoints] == [1]
    with engine.begin() as conn:
        log.append_many(conn, [make_event(3), make_event(4)])  # the committed seq 3
    log.publish_checkpoints(engine)
    after = read_checkpoints_file(checkpoints_path).checkpoints
    assert [cp.seq for cp in after] == [1, 3]
    with engine.connect() as conn:
        head_hash = conn.execute(sa.text("SELECT hash FROM audit_events WHERE seq = 3")).scalar()
        conn.rollback()
    assert after[-1].hash == head_hash


def test_publish_catches_up_and_never_duplicates(
    engine: Engine,
    make_log: Callable[..., AuditLog],
    make_event: Callable[..., AuditEvent],
    checkpoints_path: Path,
) -> None:
    log = make_log(every=1)
    for i in range(3):  # commits without publishing: a process that died after commit
        with engine.begin() as conn:
            log.append(conn, make_event(i))
    other_process = make_log(every=1)
    assert other_process.publish_checkpoints(engine) == 3
    assert log.publish_checkpoints(engine) == 0
    assert [cp.seq for cp in read_checkpoints_file(checkpoints_path).checkpoints] == [1, 2, 3]


def test_forced_checkpoint(
    engine: Engine, make_log: Callable[..., AuditLog], make_event: Callable[..., AuditEvent]
) -> None:
    log = make_log(every=100)
    with engine.begin() as conn:
        log.append_many(conn, [make_event(i) for i in range(3)])
        assert log.checkpoint(conn) is None  # the first batch already anchored a checkpoint at seq 3
    with engine.begin() as conn:
        log.append(conn, make_event(3))
        cp = log.checkpoint(conn)
        assert isinstance(cp, Checkpoint) and cp.seq == 4
        assert log.checkpoint(conn) is None  # nothing new since


def test_in_memory_sink_records_and_fails_closed(make_event: Callable[..., AuditEvent]) -> None:
    sink = InMemoryAuditSink()
    conn = None
    assert sink.append(conn, make_event(0)) == 1  # type: ignore[arg-type]
    assert sink.append_many(conn, [make_event(1), make_event(2)]) == (2, 3)  # type: ignore[arg-type]
    assert len(sink.by_action("read")) == 3
    sink.fail = True
    with pytest.raises(AuditWriteError):
        sink.append(conn, make_event(3))  # type: ignore[arg-type]
