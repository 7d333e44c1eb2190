"""Profiling labels merged into letters: ``segment`` and ``recommended_product``.

Profiling stores results keyed by pseudonym (:mod:`core.profiling.results`);
the mail-merge job reads the latest label of each kind.  No run yet, or no
table yet, means empty values, never a failed campaign.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from core.profiling.results import latest_recommendations, latest_segments

EMPTY: Mapping[str, str] = {}


def profile_labels(
    engine: Engine, *, segments: bool, recommendations: bool
) -> tuple[Mapping[str, str], Mapping[str, str]]:
    """``({pseudonym: segment}, {pseudonym: product})`` from the latest runs (only those asked for)."""
    try:
        with engine.connect() as conn:
            return _read(conn, segments, recommendations)
    except SQLAlchemyError:
        return EMPTY, EMPTY


def _read(
    conn: Connection, segments: bool, recommendations: bool
) -> tuple[Mapping[str, str], Mapping[str, str]]:
    seg = latest_segments(conn) if segments else EMPTY
    rec = latest_recommendations(conn) if recommendations else EMPTY
    return seg, rec
