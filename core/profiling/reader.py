"""Reading stored profiling results (the HTTP API's ``GET /profiles/...``), governed and audited.

``profile``/``read`` of the kind is authorized for the context (analyst: purpose ``profiling``,
or ``data_quality`` for quality).  Only the latest run of the kind is read; results of customers
who objected to profiling or were erased since that run are left out
(:func:`core.profiling.results.still_profilable`).  Each read is one audit event
(action ``read``, resource ``profile``, fields = [kind], row_count = results returned).

A latest run whose model fit was not usable (its summary records ``usable: false`` and a
``reason``; it has no results) is read and audited like any other, then reported as
:class:`~core.profiling.fit_check.ModelUnusableError` instead of a result.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from core.db import transaction
from core.errors import InputError, ModelUnusableError, NotFoundError
from core.gateway import AccessContext, Gateway
from core.profiling.governed import PROFILE_FIELDS
from core.profiling.results import KINDS, latest_run_id, profile_results_t, profile_runs_t, still_profilable

MAX_LIMIT = 10_000


class StoredProfiles:
    def __init__(self, *, gateway: Gateway) -> None:
        self._gateway = gateway

    def latest(self, ctx: AccessContext, kind: str, *, limit: int = 1000, offset: int = 0) -> dict[str, Any]:
        """The latest run of ``kind``: its metadata, summary and a page of per-pseudonym results."""
        if kind not in KINDS:
            raise InputError(f"unknown profile kind; one of {', '.join(KINDS)}")
        if not 1 <= limit <= MAX_LIMIT or offset < 0:
            raise InputError(f"limit must be 1..{MAX_LIMIT} and offset not negative")
        gw = self._gateway
        gw.authorize(ctx, resource="profile", action="read", fields=[kind], all_fields=PROFILE_FIELDS)
        with transaction(gw.engine) as conn:
            run_id = latest_run_id(conn, kind)
            if run_id is None:
                raise NotFoundError(f"no {kind} run has been stored yet (run `hushdb profile`)")
            run = conn.execute(sa.select(profile_runs_t).where(profile_runs_t.c.id == run_id)).one()
            r = profile_results_t.c
            where = sa.and_(r.run_id == run_id, still_profilable())
            total = int(conn.execute(sa.select(sa.func.count()).where(where)).scalar_one())
            rows = conn.execute(
                sa.select(r.pseudonym, r.label, r.score, r.data)
                .where(where)
                .order_by(r.pseudonym)
                .limit(limit)
                .offset(offset)
            ).all()
            gw.record(
                conn,
                gw.event(
                    ctx,
                    action="read",
                    resource="profile",
                    fields=[kind],
                    decision="allow",
                    row_count=len(rows),
                    detail={"run_id": run_id},
                ),
            )
        gw.publish()
        summary = json.loads(run.summary)
        if isinstance(summary, dict) and summary.get("usable") is False:
            reason = str(summary.get("reason") or "the model fit is not usable")
            raise ModelUnusableError(
                f"the latest {kind} run ({run_id}) has no results: {reason}",
                run_id=run_id,
                audit_seq=run.audit_seq,
                fit=summary.get("fit") if isinstance(summary.get("fit"), dict) else None,
            )
        return {
            "run_id": run_id,
            "kind": kind,
            "created_at": run.created_at.isoformat(),
            "as_of": run.as_of.isoformat() if run.as_of is not None else None,
            "subject": run.subject,
            "code_version": run.code_version,
            "parameters": json.loads(run.parameters),
            "summary": summary,
            "left_out": run.left_out,
            "audit_seq": run.audit_seq,
            "total": total,
            "results": {
                str(row[0]): {"label": row[1], "score": row[2], **json.loads(str(row[3]))} for row in rows
            },
        }
