"""Data-subject access and portability export (GDPR Art. 15 and 20).

Everything hushdb holds about one person, as one JSON-ready document: the
customer's fields, notes, consents (current state and history), transactions,
the profiling results held under the person's pseudonym (segment, lifetime
value, churn risk, recommendations: every stored run, GDPR Art. 15(1)(h)
asks for the logic and the outcome of profiling) and the access report (who read or changed the record, when and why).  Each
part is read through the gateway under the caller's access plan, with purpose
``erasure`` (the dpo's purpose in the policy files), and each read is audited;
a final ``export`` event records that the document was produced.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

import sqlalchemy as sa

from core.db import transaction
from core.gateway import AccessContext, Gateway
from core.models import consent_events_t, transactions_t, utcnow
from core.profiling.results import profile_results_t, profile_runs_t
from core.records import CUSTOMER_FIELDS
from policies.vocabulary import RESOURCES

DSAR_FORMAT = "hushdb-dsar/1"
DSAR_PURPOSE = "erasure"
TRANSACTION_FIELDS: tuple[str, ...] = RESOURCES["transaction"].fields


class AccessReports(Protocol):
    """The part of :class:`core.compliance.ComplianceQueries` this module needs."""

    def access_report(self, ctx: AccessContext, external_id: str) -> list[dict[str, Any]]: ...


class DataSubjectExport:
    """Builds the data-subject document; every part governed and audited."""

    def __init__(self, *, gateway: Gateway, reports: AccessReports) -> None:
        self._gateway = gateway
        self._reports = reports

    def export(self, ctx: AccessContext, external_id: str) -> dict[str, Any]:
        if ctx.purpose != DSAR_PURPOSE:
            raise self._gateway.deny(
                ctx,
                action="export",
                resource="customer",
                fields=list(CUSTOMER_FIELDS),
                reason=f"a data-subject export needs purpose {DSAR_PURPOSE}",
            )
        record = self._gateway.read_customer(ctx, external_id)
        notes = self._gateway.read_notes(ctx, external_id)
        customer_id, history = self._consent_history(ctx, external_id)
        purchases = self._transactions(ctx, external_id)
        profiling = self._profiling(record.pseudonym)
        report = self._reports.access_report(ctx, external_id)
        values = dict(record.values)
        doc: dict[str, Any] = {
            "format": DSAR_FORMAT,
            "generated_at": utcnow().isoformat(),
            "generated_by": ctx.subject,
            "request_id": ctx.request_id,
            "external_id": record.external_id,
            "pseudonym": record.pseudonym,
            "customer": {k: v for k, v in values.items() if k != "consent"},
            "consents": {"current": values.get("consent"), "history": history},
            "notes": [{"note_id": n.note_id, **n.values} for n in notes],
            "transactions": purchases,
            "profiling": profiling,
            "access_report": report,
        }
        self._gateway.record_alone(
            self._gateway.event(
                ctx,
                action="export",
                resource="customer",
                fields=sorted(values),
                decision="allow",
                row_count=1,
                record_ids=[customer_id],
                detail={
                    "operation": "dsar",
                    "notes": len(notes),
                    "transactions": len(purchases),
                    "consent_events": len(history),
                    "profiling_results": len(profiling),
                },
            )
        )
        return doc

    def _consent_history(self, ctx: AccessContext, external_id: str) -> tuple[str, list[dict[str, Any]]]:
        plan = self._gateway.authorize(
            ctx, resource="customer", action="read", fields=["consent"], all_fields=CUSTOMER_FIELDS
        )
        with transaction(self._gateway.engine) as conn:
            customer_id = self._gateway.customer_id(conn, ctx, plan, external_id)
            rows = conn.execute(
                sa.select(
                    consent_events_t.c.purpose,
                    consent_events_t.c.granted,
                    consent_events_t.c.at,
                    consent_events_t.c.source,
                )
                .where(consent_events_t.c.customer_id == customer_id)
                .order_by(consent_events_t.c.at, consent_events_t.c.id)
            ).all()
            history = [
                {"purpose": r.purpose, "granted": bool(r.granted), "at": r.at.isoformat(), "source": r.source}
                for r in rows
            ]
            self._gateway.record_read(
                conn,
                ctx,
                plan,
                row_count=len(history),
                record_ids=[customer_id],
                detail={"lookup": "consent_history"},
            )
        self._gateway.publish()
        return customer_id, history

    def _transactions(self, ctx: AccessContext, external_id: str) -> list[dict[str, Any]]:
        plan = self._gateway.authorize(
            ctx, resource="transaction", action="read", fields=None, all_fields=TRANSACTION_FIELDS
        )
        cols = [transactions_t.c[f] for f in TRANSACTION_FIELDS if f in plan.allowed]
        with transaction(self._gateway.engine) as conn:
            customer_id = self._gateway.customer_id(conn, ctx, plan, external_id)
            rows = conn.execute(
                sa.select(*cols)
                .where(transactions_t.c.customer_id == customer_id)
                .order_by(transactions_t.c.occurred_at, transactions_t.c.id)
            ).all()
            out = [{k: _jsonable(v) for k, v in r._mapping.items()} for r in rows]
            self._gateway.record_read(
                conn, ctx, plan, row_count=len(out), record_ids=[customer_id], detail={"lookup": "dsar"}
            )
        self._gateway.publish()
        return out

    def _profiling(self, pseudonym: str) -> list[dict[str, Any]]:
        """Every profiling result stored under the pseudonym, newest run first (pseudonymous data only)."""
        with transaction(self._gateway.engine) as conn:
            rows = conn.execute(
                sa.select(
                    profile_runs_t.c.kind,
                    profile_runs_t.c.id,
                    profile_runs_t.c.created_at,
                    profile_runs_t.c.code_version,
                    profile_results_t.c.label,
                    profile_results_t.c.score,
                    profile_results_t.c.data,
                )
                .select_from(
                    profile_results_t.join(profile_runs_t, profile_runs_t.c.id == profile_results_t.c.run_id)
                )
                .where(profile_results_t.c.pseudonym == pseudonym)
                .order_by(profile_runs_t.c.created_at.desc(), profile_runs_t.c.id)
                .limit(1000)
            ).all()
        return [
            {
                "kind": r.kind,
                "run_id": r.id,
                "run_at": r.created_at.isoformat(),
                "code_version": r.code_version,
                "label": r.label,
                "score": r.score,
                "data": json.loads(r.data),
            }
            for r in rows
        ]


def _jsonable(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)  # Decimal amounts keep their exact digits


__all__ = ["DSAR_FORMAT", "DSAR_PURPOSE", "AccessReports", "DataSubjectExport"]
