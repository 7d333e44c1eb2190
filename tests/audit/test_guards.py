"""The database itself keeps the audit log append-only; the schema matches audit_metadata."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Engine

from audit.events import AuditEvent
from audit.log import AuditLog
from audit.tables import AUDIT_TABLES, audit_metadata

CHANGES = [
    # (table, statement) -- each must be rejected by a trigger
    ("audit_events", "UPDATE audit_events SET subject = 'mallory' WHERE seq = 1"),
    ("audit_events", "UPDATE audit_events SET hash = prev_hash"),
    ("audit_events", "DELETE FROM audit_events WHERE seq = 1"),
    ("audit_events", "DELETE FROM audit_events"),
    ("audit_ref_index", "UPDATE audit_ref_index SET ref_key = 0"),
    ("audit_ref_index", "UPDATE audit_ref_index SET part = part + 1"),
    ("audit_ref_index", "DELETE FROM audit_ref_index"),
    ("audit_checkpoints", "UPDATE audit_checkpoints SET signature = 'x'"),
    ("audit_checkpoints", "DELETE FROM audit_checkpoints"),
    ("audit_head", "DELETE FROM audit_head"),
    ("audit_head", "UPDATE audit_head SET seq = seq - 1"),  # the head only moves forward
    ("audit_head", "UPDATE audit_head SET checkpoint_seq = 0"),
]


@pytest.fixture
def filled(
    engine: Engine, make_log: Callable[..., AuditLog], make_event: Callable[..., AuditEvent]
) -> Engine:
    log = make_log(every=2)
    with engine.begin() as conn:
        log.append_many(conn, [make_event(i) for i in range(5)])
    with engine.begin() as conn:
        log.append(conn, make_event(5))
    return engine


def _snapshot(engine: Engine) -> list[list[tuple[object, ...]]]:
    with engine.connect() as conn:
        snap = [
            [tuple(r) for r in conn.execute(sa.text(f"SELECT * FROM {t} ORDER BY 1, 2"))]
            for t in AUDIT_TABLES
        ]
        conn.rollback()
    return snap


@pytest.mark.parametrize(("table", "statement"), CHANGES)
def test_database_rejects_changes_to_audit_tables(filled: Engine, table: str, statement: str) -> None:
    before = _snapshot(filled)
    with pytest.raises(sa.exc.DBAPIError) as info, filled.begin() as conn:
        conn.exec_driver_sql(statement)
    assert "hushdb" in str(info.value)  # our trigger, not some other failure
    assert _snapshot(filled) == before


@pytest.mark.parametrize("table", AUDIT_TABLES)
def test_postgresql_rejects_truncate(filled: Engine, table: str) -> None:
    if filled.dialect.name != "postgresql":
        pytest.skip("TRUNCATE exists on PostgreSQL only")
    before = _snapshot(filled)
    with pytest.raises(sa.exc.DBAPIError) as info, filled.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE {table} CASCADE")
    assert "hushdb" in str(info.value)
    assert _snapshot(filled) == before


def test_head_may_move_forward(filled: Engine) -> None:
    # appends update the head; the guard must not block that (seq unchanged or larger)
    with filled.begin() as conn:
        conn.exec_driver_sql("UPDATE audit_head SET seq = seq WHERE id = 1")


def test_migrated_schema_matches_audit_metadata(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={"include_name": lambda name, type_, parent: type_ != "table" or name in AUDIT_TABLES},
        )
        diff = compare_metadata(context, audit_metadata)
        conn.rollback()
    assert diff == []
