"""Audit record-reference index, written append-mostly (replaces ``audit_event_refs``).

Revision ID: 0006_audit_ref_index
Revises: 0005_profiles

``audit_event_refs`` was indexed by reference: every insert landed at a random
place in that index, which capped batched appends at ~20k events/s.  The new
``audit_ref_index`` (part, ref_key, seq) groups consecutive events into
partitions of about 16,384 references, so inserts are append-mostly (see
:mod:`audit.refindex`, whose rule this migration replays; the copy here is
frozen on purpose).  ``audit_head`` gains the partition state (ref_part,
ref_fill).

Upgrade copies the OLD index rows (not the events' declared refs), so a row
that was tampered with before the upgrade is still reported by verification.
The new table gets the same append-only triggers as the other audit tables.
Downgrade rebuilds ``audit_event_refs`` from the events' hashed ``record_refs``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import sqlalchemy as sa
from alembic import op

revision = "0006_audit_ref_index"
down_revision = "0005_profiles"
branch_labels = None
depends_on = None

REF_PART_SIZE = 16_384  # audit.refindex.REF_PART_SIZE at the time of this migration
KEY_HEX_CHARS = 15
COPY_BATCH = 10_000


def _append_only_triggers(dialect: str, table: str) -> list[str]:
    if dialect == "sqlite":
        return [
            f"CREATE TRIGGER {table}_no_{op_name.lower()} BEFORE {op_name} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, 'hushdb: {op_name} on {table} is not allowed: "
            "the audit log is append-only'); END"
            for op_name in ("UPDATE", "DELETE")
        ]
    if dialect == "postgresql":  # the function comes from 0002_audit
        return [
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION hushdb_audit_append_only()",
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION hushdb_audit_append_only()",
        ]
    raise NotImplementedError(f"no audit triggers for dialect {dialect}")


def _old_rows(bind: sa.engine.Connection) -> Iterator[list[tuple[int, str]]]:
    """The rows of audit_event_refs in (seq, ref) order, in chunks."""
    result = bind.execute(
        sa.text("SELECT seq, ref FROM audit_event_refs ORDER BY seq, ref").execution_options(
            yield_per=COPY_BATCH
        )
    )
    try:
        for chunk in result.partitions(COPY_BATCH):
            yield [(int(r[0]), str(r[1])) for r in chunk]
    finally:
        result.close()


def _copy_old_index(bind: sa.engine.Connection) -> tuple[int, int]:
    """Copy audit_event_refs into audit_ref_index; returns the final (ref_part, ref_fill)."""
    insert = sa.text("INSERT INTO audit_ref_index (part, ref_key, seq) VALUES (:p, :k, :s)")
    part = fill = 0
    current_seq: int | None = None
    current_keys: set[int] = set()
    out: list[dict[str, int]] = []

    def flush_event() -> None:
        nonlocal part, fill
        if current_seq is None or not current_keys:
            return
        n = len(current_keys)
        if fill > 0 and fill + n > REF_PART_SIZE:
            part += 1
            fill = 0
        fill += n
        out.extend({"p": part, "k": key, "s": current_seq} for key in sorted(current_keys))

    for chunk in _old_rows(bind):
        for seq, ref in chunk:
            if seq != current_seq:
                flush_event()
                current_seq, current_keys = seq, set()
            try:
                current_keys.add(int(ref[:KEY_HEX_CHARS], 16))
            except ValueError:
                current_keys.add(0)  # a damaged row stays a (mismatching) row: verify names its seq
        if len(out) >= COPY_BATCH:
            bind.execute(insert, out)
            out = []
    flush_event()
    if out:
        bind.execute(insert, out)
    return part, fill


def upgrade() -> None:
    bind = op.get_bind()
    dialect = bind.dialect.name
    op.create_table(
        "audit_ref_index",
        sa.Column("part", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("ref_key", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("seq", sa.BigInteger(), primary_key=True, autoincrement=False),
        sqlite_with_rowid=False,
    )
    op.add_column("audit_head", sa.Column("ref_part", sa.BigInteger(), nullable=False, server_default="0"))
    op.add_column("audit_head", sa.Column("ref_fill", sa.BigInteger(), nullable=False, server_default="0"))
    part, fill = _copy_old_index(bind)
    bind.execute(
        sa.text("UPDATE audit_head SET ref_part = :p, ref_fill = :f WHERE id = 1"), {"p": part, "f": fill}
    )
    op.drop_table("audit_event_refs")  # its triggers go with it
    for statement in _append_only_triggers(dialect, "audit_ref_index"):
        op.execute(statement)


def downgrade() -> None:
    bind = op.get_bind()
    dialect = bind.dialect.name
    op.create_table(
        "audit_event_refs",
        sa.Column("seq", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("ref", sa.String(32), primary_key=True),
    )
    op.create_index("ix_audit_event_refs_ref", "audit_event_refs", ["ref", "seq"])
    insert = sa.text("INSERT INTO audit_event_refs (seq, ref) VALUES (:s, :r)")
    result = bind.execute(
        sa.text(
            "SELECT seq, record_refs FROM audit_events WHERE record_refs <> '[]' ORDER BY seq"
        ).execution_options(yield_per=COPY_BATCH)
    )
    out: list[dict[str, object]] = []
    for chunk in result.partitions(COPY_BATCH):
        for row in chunk:
            seq, refs = int(row[0]), str(row[1])
            out.extend({"s": seq, "r": ref} for ref in sorted(set(json.loads(refs))))
        if len(out) >= COPY_BATCH:
            bind.execute(insert, out)
            out = []
    result.close()
    if out:
        bind.execute(insert, out)
    for statement in _append_only_triggers(dialect, "audit_event_refs"):
        op.execute(statement)
    op.drop_table("audit_ref_index")
    op.execute("ALTER TABLE audit_head DROP COLUMN ref_fill")
    op.execute("ALTER TABLE audit_head DROP COLUMN ref_part")
