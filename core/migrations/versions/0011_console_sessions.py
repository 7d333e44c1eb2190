"""Console sessions in the database, so every worker of ``hushdb serve --workers N`` shares them.

Revision ID: 0011_console_sessions
Revises: 0010_audit_heads

One row per signed-in browser (:data:`api.console.sessions.console_sessions_t`), keyed
by the SHA-256 of the session id (the cookie's value is stored nowhere): subject, the
API key id it signed in with, the roles at sign-in, created and last-seen times (idle
and absolute expiry) and the erasure receipts issued in it.  The CSRF token is derived
from the session id, so it is not stored.  Downgrading drops the table: every session
ends (everyone signs in again), nothing else is lost.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_console_sessions"
down_revision = "0010_audit_heads"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "console_sessions",
        sa.Column("id_hash", sa.String(64), primary_key=True),
        sa.Column("subject", sa.String(128), nullable=False),
        sa.Column("key_id", sa.String(16), nullable=False),
        sa.Column("roles", sa.String(512), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), nullable=False),
        sa.Column("receipts", sa.Text(), nullable=False),
    )
    op.create_index("ix_console_sessions_key_id", "console_sessions", ["key_id"])
    op.create_index("ix_console_sessions_last_seen_at", "console_sessions", ["last_seen_at"])


def downgrade() -> None:
    op.drop_index("ix_console_sessions_last_seen_at", table_name="console_sessions")
    op.drop_index("ix_console_sessions_key_id", table_name="console_sessions")
    op.drop_table("console_sessions")
