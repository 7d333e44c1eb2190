"""API keys: a key id, the subject it acts as and a keyed hash of the secret (never the secret).

Revision ID: 0004_apikeys
Revises: 0003_tx_covering_index
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_apikeys"
down_revision = "0003_tx_covering_index"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(16), primary_key=True),
        sa.Column("subject", sa.String(128), nullable=False),
        sa.Column("secret_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_api_keys_subject", "api_keys", ["subject"])


def downgrade() -> None:
    op.drop_index("ix_api_keys_subject", table_name="api_keys")
    op.drop_table("api_keys")
