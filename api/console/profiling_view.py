"""The console's profiling page (analyst, purpose profiling): the latest runs as aggregates only.

Reads the stored runs (``profile_runs``) and the scores of their results; no
pseudonym, let alone a person, is shown.  The read is governed like
``GET /profiles/*`` (resource ``profile``, field ``results``) and audited.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from api.console.audit_reads import record_allowed
from core.errors import InputError
from core.gateway import AccessContext, Gateway
from core.profiling.results import profile_results_t, profile_runs_t
from policies.vocabulary import RESOURCES

SHOWN_KINDS = ("rfm", "clv", "churn", "cross_sell")
MAX_SCORES = 200_000
"""Scores read for one distribution chart (a run larger than this is sampled by its first rows)."""


@dataclass(frozen=True, slots=True)
class RunSummary:
    run_id: str
    kind: str
    subject: str
    created_at: datetime
    row_count: int
    left_out: int
    code_version: str
    summary: dict[str, Any]

    @property
    def not_usable(self) -> str | None:
        """The reason a fit is not usable, when the run recorded one (``usable: false``)."""
        fit = self.summary.get("fit")
        for doc in (self.summary, fit if isinstance(fit, dict) else {}):
            if doc.get("usable") is False:
                return str(doc.get("reason") or "the model fit is not usable")
        return None


class ProfilingView:
    def __init__(self, *, gateway: Gateway) -> None:
        self._gw = gateway

    def _authorize(self, ctx: AccessContext) -> None:
        self._gw.authorize(
            ctx, resource="profile", action="read", fields=["results"], all_fields=RESOURCES["profile"].fields
        )

    def _audited(self, ctx: AccessContext, rows: int, view: str) -> None:
        record_allowed(
            self._gw,
            ctx,
            resource="profile",
            fields=["results"],
            rows=rows,
            detail={"view": view, "via": "console"},
        )

    def latest(self, ctx: AccessContext) -> list[RunSummary]:
        """The latest run of each kind (rfm, clv, churn, cross_sell) that exists."""
        self._authorize(ctx)
        runs = profile_runs_t.c
        out: list[RunSummary] = []
        with self._gw.engine.connect() as conn:
            for kind in SHOWN_KINDS:
                row = conn.execute(
                    sa.select(profile_runs_t)
                    .where(runs.kind == kind)
                    .order_by(runs.created_at.desc(), runs.id.desc())
                    .limit(1)
                ).first()
                if row is not None:
                    out.append(_summary(row))
        self._audited(ctx, sum(r.row_count for r in out), "console_profiling")
        return out

    def scores(self, ctx: AccessContext, kind: str) -> list[float]:
        """The scores of the latest run of ``kind`` (CLV value, churn risk), for a distribution chart."""
        if kind not in ("clv", "churn"):
            raise InputError("a distribution is drawn for clv or churn")
        self._authorize(ctx)
        runs, results = profile_runs_t.c, profile_results_t.c
        with self._gw.engine.connect() as conn:
            run_id = conn.execute(
                sa.select(runs.id)
                .where(runs.kind == kind)
                .order_by(runs.created_at.desc(), runs.id.desc())
                .limit(1)
            ).scalar()
            values: list[float] = []
            if run_id is not None:
                found = conn.execute(
                    sa.select(results.score)
                    .where(results.run_id == run_id, results.score.is_not(None))
                    .limit(MAX_SCORES)
                )
                values = [float(row[0]) for row in found]
        self._audited(ctx, len(values), f"console_profiling_{kind}")
        return values


def _summary(row: sa.Row[Any]) -> RunSummary:
    try:
        summary = json.loads(row.summary)
    except ValueError:
        summary = {}
    return RunSummary(
        run_id=str(row.id),
        kind=str(row.kind),
        subject=str(row.subject),
        created_at=row.created_at,
        row_count=int(row.row_count),
        left_out=int(row.left_out),
        code_version=str(row.code_version),
        summary=summary if isinstance(summary, dict) else {},
    )


__all__ = ["SHOWN_KINDS", "ProfilingView", "RunSummary"]
