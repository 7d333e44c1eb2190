"""Audit log: events, record references, chain head, signed checkpoints; append-only triggers.

Revision ID: 0002_audit
Revises: 0001_core

The database itself refuses UPDATE and DELETE on ``audit_events``,
``audit_event_refs`` and ``audit_checkpoints`` (and TRUNCATE on PostgreSQL).
``audit_head`` may only move forward (its seq and checkpoint_seq never
decrease) and cannot be deleted or truncated.  The trigger text lives in
:func:`trigger_statements` so that tests can install exactly these triggers.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_audit"
down_revision = "0001_core"
branch_labels = None
depends_on = None

APPEND_ONLY_TABLES = ("audit_events", "audit_event_refs", "audit_checkpoints")
GENESIS_HASH = "0" * 64


def _bigint() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _sqlite_triggers() -> list[str]:
    statements: list[str] = []
    for table in APPEND_ONLY_TABLES:
        for op_name in ("UPDATE", "DELETE"):
            statements.append(
                f"CREATE TRIGGER {table}_no_{op_name.lower()} BEFORE {op_name} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, 'hushdb: {op_name} on {table} is not allowed: "
                "the audit log is append-only'); END"
            )
    statements.append(
        "CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head "
        "BEGIN SELECT RAISE(ABORT, 'hushdb: DELETE on audit_head is not allowed'); END"
    )
    statements.append(
        "CREATE TRIGGER audit_head_forward_only BEFORE UPDATE ON audit_head "
        "WHEN NEW.id <> OLD.id OR NEW.seq < OLD.seq OR NEW.checkpoint_seq < OLD.checkpoint_seq "
        "BEGIN SELECT RAISE(ABORT, 'hushdb: the audit head may only move forward'); END"
    )
    return statements


def _postgresql_triggers() -> list[str]:
    statements = [
        """
        CREATE OR REPLACE FUNCTION hushdb_audit_append_only() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION USING
                MESSAGE = 'hushdb: ' || TG_OP || ' on ' || TG_TABLE_NAME
                          || ' is not allowed: the audit log is append-only',
                ERRCODE = 'insufficient_privilege';
        END
        $$
        """,
        """
        CREATE OR REPLACE FUNCTION hushdb_audit_head_guard() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'UPDATE' AND NEW.id = OLD.id AND NEW.seq >= OLD.seq
               AND NEW.checkpoint_seq >= OLD.checkpoint_seq THEN
                RETURN NEW;
            END IF;
            RAISE EXCEPTION USING
                MESSAGE = 'hushdb: the audit head may only move forward',
                ERRCODE = 'insufficient_privilege';
        END
        $$
        """,
    ]
    for table in APPEND_ONLY_TABLES:
        statements.append(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION hushdb_audit_append_only()"
        )
    for table in (*APPEND_ONLY_TABLES, "audit_head"):
        statements.append(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION hushdb_audit_append_only()"
        )
    statements.append(
        "CREATE TRIGGER audit_head_guard BEFORE UPDATE OR DELETE ON audit_head "
        "FOR EACH ROW EXECUTE FUNCTION hushdb_audit_head_guard()"
    )
    return statements


def trigger_statements(dialect_name: str) -> list[str]:
    """The guard triggers for one dialect (``sqlite`` or ``postgresql``)."""
    if dialect_name == "sqlite":
        return _sqlite_triggers()
    if dialect_name == "postgresql":
        return _postgresql_triggers()
    raise NotImplementedError(f"no audit triggers for dialect {dialect_name}")


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("seq", _bigint(), primary_key=True, autoincrement=False),
        sa.Column("ts", sa.String(32), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("roles", sa.Text(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("resource", sa.Text(), nullable=False),
        sa.Column("fields", sa.Text(), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("row_count", sa.BigInteger(), nullable=False),
        sa.Column("request_id", sa.Text(), nullable=False),
        sa.Column("record_refs", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_audit_events_subject", "audit_events", ["subject"])
    op.create_index("ix_audit_events_ts", "audit_events", ["ts"])
    op.create_table(
        "audit_event_refs",
        sa.Column("seq", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("ref", sa.String(32), primary_key=True),
    )
    op.create_index("ix_audit_event_refs_ref", "audit_event_refs", ["ref", "seq"])
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("checkpoint_seq", sa.BigInteger(), nullable=False),
        sa.Column("checkpoint_ts", sa.String(32), nullable=False),
    )
    op.create_table(
        "audit_checkpoints",
        sa.Column("seq", _bigint(), primary_key=True, autoincrement=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("ts", sa.String(32), nullable=False),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
    )
    op.execute(
        "INSERT INTO audit_head (id, seq, hash, checkpoint_seq, checkpoint_ts) "
        f"VALUES (1, 0, '{GENESIS_HASH}', 0, '')"
    )
    for statement in trigger_statements(op.get_bind().dialect.name):
        op.execute(statement)


def downgrade() -> None:
    for table in ("audit_checkpoints", "audit_head", "audit_event_refs", "audit_events"):
        op.drop_table(table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS hushdb_audit_head_guard()")
        op.execute("DROP FUNCTION IF EXISTS hushdb_audit_append_only()")
