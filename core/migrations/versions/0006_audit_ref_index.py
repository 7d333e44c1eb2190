"""Audit record-reference index (filled by the audit performance work).

Revision ID: 0006_audit_ref_index
Revises: 0005_profiles
"""

from __future__ import annotations

revision = "0006_audit_ref_index"
down_revision = "0005_profiles"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
