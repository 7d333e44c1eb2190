"""Compliance: audit events, verification, access reports, data-subject export."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.http.deps import Access, Services
from api.http.routers.customers import ExternalIdPath
from api.http.schemas import AccessReportOut, AuditEventList, DataExportOut, VerifyOut

router = APIRouter(tags=["compliance"])


@router.get("/audit/events", response_model=AuditEventList, summary="Audit events (filters as the CLI)")
def audit_events(
    ctx: Access,
    svc: Services,
    customer: Annotated[str | None, Query(max_length=128, description="External id of a customer.")] = None,
    subject: Annotated[str | None, Query(max_length=128)] = None,
    purpose: Annotated[str | None, Query(max_length=32, description="Events of this purpose only.")] = None,
    denied: Annotated[bool, Query(description="Only denials.")] = False,
    since: Annotated[dt.datetime | None, Query(description="ISO 8601, inclusive.")] = None,
    until: Annotated[dt.datetime | None, Query(description="ISO 8601, exclusive.")] = None,
    limit: Annotated[int, Query(ge=1, le=10000)] = 1000,
) -> dict[str, Any]:
    rows = svc.compliance.events(
        ctx,
        customer=customer,
        subject=subject,
        purpose=purpose,
        denied_only=denied,
        since=since,
        until=until,
        limit=limit,
    )
    return {"events": rows, "count": len(rows)}


@router.get("/audit/verify", response_model=VerifyOut, summary="Verify the audit chain and checkpoints")
def audit_verify(ctx: Access, svc: Services) -> VerifyOut:
    r = svc.compliance.verify(ctx)
    return VerifyOut(
        ok=r.ok,
        events_checked=r.events_checked,
        first_bad_seq=r.first_bad_seq,
        reason=r.reason,
        checkpoints_checked=r.checkpoints_checked,
        last_signed_seq=r.last_signed_seq,
        unsigned_tail=r.unsigned_tail,
        head_seq=r.head_seq,
    )


@router.get(
    "/customers/{external_id}/access-report",
    response_model=AccessReportOut,
    summary="Who accessed this person's data, when and why (GDPR Art. 15(1)(c))",
)
def access_report(external_id: ExternalIdPath, ctx: Access, svc: Services) -> dict[str, Any]:
    return {"external_id": external_id, "events": svc.compliance.access_report(ctx, external_id)}


@router.get(
    "/customers/{external_id}/data-export",
    response_model=DataExportOut,
    summary="Everything held about the person (dpo, purpose erasure; GDPR Art. 15 and 20)",
)
def data_export(external_id: ExternalIdPath, ctx: Access, svc: Services) -> dict[str, Any]:
    return svc.dsar.export(ctx, external_id)
