"""Compliance queries over the audit log: verify, list events, per-person access reports.

Reading the audit log is itself governed (resource ``audit``) and audited.
The local operator (who holds the key file) may verify without a role.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from audit import queries
from audit.verify import VerifyReport, verify_engine
from core.db import transaction
from core.gateway import OPERATOR_ROLE, AccessContext
from core.models import customers_t

if TYPE_CHECKING:
    from api.wiring import Hush


class ComplianceQueries:
    def __init__(self, *, hush: Hush) -> None:
        self._hush = hush
        self._gateway = hush.gateway

    def _authorize(self, ctx: AccessContext, field: str) -> None:
        if ctx.roles == frozenset({OPERATOR_ROLE}):
            return
        self._gateway.authorize(ctx, resource="audit", action="read", fields=[field], all_fields=(field,))

    def _audited(self, ctx: AccessContext, field: str, rows: int, customer_ids: list[str]) -> None:
        self._gateway.record_alone(
            self._gateway.event(
                ctx,
                action="read",
                resource="audit",
                fields=[field],
                decision="allow",
                row_count=rows,
                record_ids=customer_ids,
            )
        )

    def verify(self, ctx: AccessContext) -> VerifyReport:
        self._authorize(ctx, "verify")
        self._gateway.publish()
        return verify_engine(
            self._hush.engine,
            checkpoints_path=self._hush.settings.checkpoints_path,
            public_key=self._hush.signer.public_key,
        )

    def _customer_id(self, external_id: str) -> str | None:
        with transaction(self._hush.engine) as conn:
            row = conn.execute(
                sa.select(customers_t.c.id).where(customers_t.c.external_id == external_id)
            ).first()
        return None if row is None else str(row.id)

    def events(
        self,
        ctx: AccessContext,
        *,
        customer: str | None = None,
        subject: str | None = None,
        purpose: str | None = None,
        denied_only: bool = False,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        limit: int = 1000,
    ) -> list[dict[str, Any]]:
        self._authorize(ctx, "events")
        ref = None
        cid = None
        if customer is not None:
            cid = self._customer_id(customer)
            if cid is None:
                return []
            ref = self._gateway.refs.ref(cid)
        with self._hush.engine.connect() as conn:
            rows = queries.events(
                conn,
                record_ref=ref,
                subject=subject,
                purpose=purpose,
                denied_only=denied_only,
                since=since,
                until=until,
                limit=limit,
            )
        self._audited(ctx, "events", len(rows), [cid] if cid else [])
        return rows

    def access_report(self, ctx: AccessContext, external_id: str) -> list[dict[str, Any]]:
        """Who accessed this person's data (GDPR Art. 15(1)(c)); works after erasure too."""
        self._authorize(ctx, "report")
        cid = self._customer_id(external_id)
        if cid is None:
            from core.errors import NotFoundError

            raise NotFoundError("customer not found")
        with self._hush.engine.connect() as conn:
            rows = queries.access_report(conn, self._gateway.refs.ref(cid))
        self._audited(ctx, "report", len(rows), [cid])
        return rows
