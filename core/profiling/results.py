"""Stored profiling runs and their per-pseudonym results (SQLAlchemy Core).

The migration ``0005_profiles`` creates both tables.

``profile_runs``     one row per run: kind (rfm, clv, churn, cross_sell, quality), who ran it,
                     for which purpose, when, the parameters and code version (JSON text), how
                     many customers were profiled and how many were left out (objected or erased),
                     and the seq of the audit event that records the run.
``profile_results``  (run_id, pseudonym) -> a short label (segment name, top recommended
                     product, "churn") with an optional score and a JSON payload.  Results are
                     keyed by the customer's pseudonym, never by a name or the internal id.

Readers (mail-merge, the HTTP API) ask for the *latest* run of a kind: :func:`latest_segments`
and :func:`latest_recommendations` return ``{pseudonym: label}``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.models import UTCDateTime, customers_t

profile_metadata = sa.MetaData()

KINDS = ("rfm", "clv", "churn", "cross_sell", "quality")

profile_runs_t = sa.Table(
    "profile_runs",
    profile_metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("subject", sa.String(128), nullable=False),
    sa.Column("purpose", sa.String(64), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("as_of", UTCDateTime(), nullable=True),
    sa.Column("parameters", sa.Text(), nullable=False),
    sa.Column("code_version", sa.String(64), nullable=False),
    sa.Column("row_count", sa.BigInteger(), nullable=False),
    sa.Column("left_out", sa.BigInteger(), nullable=False),
    sa.Column("summary", sa.Text(), nullable=False),
    sa.Column("audit_seq", sa.BigInteger(), nullable=True),
    sa.Index("ix_profile_runs_kind_created", "kind", "created_at"),
)

profile_results_t = sa.Table(
    "profile_results",
    profile_metadata,
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
    sa.Index("ix_profile_results_pseudonym", "pseudonym"),
)


@dataclass(frozen=True, slots=True)
class ResultRow:
    """One customer's result in a run (keyed by pseudonym)."""

    pseudonym: str
    label: str | None
    score: float | None = None
    data: Mapping[str, Any] | None = None


def dumps(value: Any) -> str:
    """Canonical JSON text for the JSON columns."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def latest_run_id(conn: Connection, kind: str) -> str | None:
    """The id of the most recent run of ``kind`` (None when there is none)."""
    row = conn.execute(
        sa.select(profile_runs_t.c.id)
        .where(profile_runs_t.c.kind == kind)
        .order_by(profile_runs_t.c.created_at.desc(), profile_runs_t.c.id.desc())
        .limit(1)
    ).first()
    return None if row is None else str(row[0])


def still_profilable() -> sa.ColumnElement[bool]:
    """Results whose customer may still be profiled: consent not withdrawn since the run, not erased."""
    return profile_results_t.c.pseudonym.in_(
        sa.select(customers_t.c.pseudonym).where(
            customers_t.c.consent_profiling.is_(True), customers_t.c.erased_at.is_(None)
        )
    )


def latest_labels(conn: Connection, kind: str) -> dict[str, str]:
    """``{pseudonym: label}`` from the latest run of ``kind`` (rows without a label left out).

    Customers who objected to profiling or were erased *after* that run are left out too.
    """
    run_id = latest_run_id(conn, kind)
    if run_id is None:
        return {}
    rows = conn.execute(
        sa.select(profile_results_t.c.pseudonym, profile_results_t.c.label).where(
            profile_results_t.c.run_id == run_id,
            profile_results_t.c.label.is_not(None),
            still_profilable(),
        )
    )
    return {str(p): str(label) for p, label in rows}


def latest_segments(conn: Connection) -> dict[str, str]:
    """RFM segment name per pseudonym, from the latest RFM run (mail-merge field ``segment``)."""
    return latest_labels(conn, "rfm")


def latest_recommendations(conn: Connection) -> dict[str, str]:
    """Top recommended product per pseudonym, from the latest cross-sell run
    (mail-merge field ``recommended_product``)."""
    return latest_labels(conn, "cross_sell")


def insert_results(conn: Connection, run_id: str, rows: Iterable[ResultRow], *, batch: int = 5000) -> int:
    """Insert ``rows`` for ``run_id`` in batches; returns the number inserted."""
    total = 0
    buf: list[dict[str, Any]] = []
    stmt = sa.insert(profile_results_t)
    for row in rows:
        buf.append(
            {
                "run_id": run_id,
                "pseudonym": row.pseudonym,
                "label": row.label,
                "score": row.score,
                "data": dumps(dict(row.data) if row.data is not None else {}),
            }
        )
        if len(buf) >= batch:
            conn.execute(stmt, buf)
            total += len(buf)
            buf = []
    if buf:
        conn.execute(stmt, buf)
        total += len(buf)
    return total
