"""The audit tables (SQLAlchemy Core).  The migration ``0002_audit`` creates them.

``audit_events``       one row per event; ``seq`` is gap-free 1, 2, 3, ...
``audit_ref_index``    (part, ref_key, seq) for every record reference of an
                       event, to find one person's events, written
                       append-mostly (:mod:`audit.refindex`; it replaced
                       ``audit_event_refs`` in migration 0006); verification
                       checks it against the ``record_refs`` column of every event.
``audit_head``         one row (id = 1): the chain tip, the last checkpoint,
                       the state of the reference partitions (ref_part, ref_fill),
                       the tip's Ed25519 signature (head_key_id, head_signature:
                       re-signed by every appending transaction, so there is no
                       unsigned tail; migration 0010) and the seq of the newest
                       ``audit_verify`` event (verified_event_seq: where an
                       incremental verification starts).
                       Every append updates it first, so concurrent writers
                       serialise on this row (PostgreSQL row lock; SQLite's
                       single writer).  The database refuses to move it back.
``audit_checkpoints``  signed (seq, head hash, ts) records, also written to
                       ``checkpoints.jsonl`` outside the database.

Times are stored as fixed-width UTC text (``2024-05-01T12:00:00.000000Z``) and
JSON columns as canonical JSON text, so a row reads back byte-identical on
SQLite and PostgreSQL.  UPDATE and DELETE (and TRUNCATE on PostgreSQL) are
rejected by triggers on events, the reference index and checkpoints.
"""

from __future__ import annotations

import sqlalchemy as sa

audit_metadata = sa.MetaData()


def _bigint() -> sa.types.TypeEngine[int]:
    # INTEGER PRIMARY KEY on SQLite is the rowid: ordered and compact.
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


HEAD_ID = 1

audit_events = sa.Table(
    "audit_events",
    audit_metadata,
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
    sa.Column("channel", sa.Text(), nullable=False, server_default=""),
    sa.Column("os_user", sa.Text(), nullable=False, server_default=""),
    sa.Index("ix_audit_events_subject", "subject"),
    sa.Index("ix_audit_events_ts", "ts"),
)

audit_ref_index = sa.Table(
    "audit_ref_index",
    audit_metadata,
    sa.Column("part", sa.BigInteger(), primary_key=True, autoincrement=False),
    sa.Column("ref_key", sa.BigInteger(), primary_key=True, autoincrement=False),
    sa.Column("seq", sa.BigInteger(), primary_key=True, autoincrement=False),
    sqlite_with_rowid=False,
)

audit_head = sa.Table(
    "audit_head",
    audit_metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("seq", sa.BigInteger(), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Column("checkpoint_seq", sa.BigInteger(), nullable=False),
    sa.Column("checkpoint_ts", sa.String(32), nullable=False),
    sa.Column("ref_part", sa.BigInteger(), nullable=False, server_default="0"),
    sa.Column("ref_fill", sa.BigInteger(), nullable=False, server_default="0"),
    sa.Column("head_key_id", sa.String(32), nullable=False, server_default=""),
    sa.Column("head_signature", sa.Text(), nullable=False, server_default=""),
    sa.Column("verified_event_seq", sa.BigInteger(), nullable=False, server_default="0"),
)

audit_checkpoints = sa.Table(
    "audit_checkpoints",
    audit_metadata,
    sa.Column("seq", _bigint(), primary_key=True, autoincrement=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Column("ts", sa.String(32), nullable=False),
    sa.Column("key_id", sa.String(32), nullable=False),
    sa.Column("signature", sa.Text(), nullable=False),
)

AUDIT_TABLES = ("audit_events", "audit_ref_index", "audit_head", "audit_checkpoints")
