"""Audit: a signed chain head in every appending transaction; channel and OS user on each event.

Revision ID: 0010_audit_heads
Revises: 0009_keystore

``audit_head`` gains ``head_key_id`` and ``head_signature``: every transaction
that appends events re-signs the new tip (Ed25519, one signature per
transaction, not per event), so no committed event is left outside a
signature, and ``verified_event_seq``: the seq of the newest ``audit_verify``
event, where an incremental verification starts (:mod:`audit.verify`).

``audit_events`` gains ``channel`` (http, cli, system) and ``os_user`` (the
operating-system user of a CLI process), both part of the hashed content of
every new event.  Existing rows keep both empty and keep their original hash
(:data:`audit.events.LEGACY_RECORD_TEMPLATE`).  The migration cannot sign: it
has no key.  The first append after it signs the head (the log accepts an
unsigned head only when the newest event is such a pre-0010 row).

Adding columns with a constant default is a catalogue change on both engines
(no table rewrite).  Downgrade is refused once any event carries a channel:
without the columns those events could no longer be verified.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_audit_heads"
down_revision = "0009_keystore"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("audit_events", sa.Column("channel", sa.Text(), nullable=False, server_default=""))
    op.add_column("audit_events", sa.Column("os_user", sa.Text(), nullable=False, server_default=""))
    op.add_column("audit_head", sa.Column("head_key_id", sa.String(32), nullable=False, server_default=""))
    op.add_column("audit_head", sa.Column("head_signature", sa.Text(), nullable=False, server_default=""))
    op.add_column(
        "audit_head", sa.Column("verified_event_seq", sa.BigInteger(), nullable=False, server_default="0")
    )


def downgrade() -> None:
    bind = op.get_bind()
    newer = bind.execute(sa.text("SELECT count(*) FROM audit_events WHERE channel <> ''")).scalar()
    if newer:
        raise RuntimeError(
            "cannot downgrade below 0010_audit_heads: events carry a channel and would no longer verify"
        )
    for table, column in (
        ("audit_head", "verified_event_seq"),
        ("audit_head", "head_signature"),
        ("audit_head", "head_key_id"),
        ("audit_events", "os_user"),
        ("audit_events", "channel"),
    ):
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
