"""Profiling runs and per-pseudonym results (see :mod:`core.profiling.results`).

Revision ID: 0005_profiles
Revises: 0004_apikeys
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_profiles"
down_revision = "0004_apikeys"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "profile_runs",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(128), nullable=False),
        sa.Column("purpose", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("as_of", sa.DateTime(), nullable=True),
        sa.Column("parameters", sa.Text(), nullable=False),
        sa.Column("code_version", sa.String(64), nullable=False),
        sa.Column("row_count", sa.BigInteger(), nullable=False),
        sa.Column("left_out", sa.BigInteger(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("audit_seq", sa.BigInteger(), nullable=True),
    )
    op.create_index("ix_profile_runs_kind_created", "profile_runs", ["kind", "created_at"])
    op.create_table(
        "profile_results",
        sa.Column(
            "run_id",
            sa.String(36),
            sa.ForeignKey("profile_runs.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("pseudonym", sa.String(40), primary_key=True),
        sa.Column("label", sa.String(128), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("data", sa.Text(), nullable=False),
    )
    op.create_index("ix_profile_results_pseudonym", "profile_results", ["pseudonym"])


def downgrade() -> None:
    op.drop_index("ix_profile_results_pseudonym", table_name="profile_results")
    op.drop_table("profile_results")
    op.drop_index("ix_profile_runs_kind_created", table_name="profile_runs")
    op.drop_table("profile_runs")
