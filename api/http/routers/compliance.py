"""Compliance: audit events (paged, newest first), verification, access reports, data-subject export."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import Field

from api.http.deps import Access, Services
from api.http.routers.customers import ExternalIdPath
from api.http.schemas import AccessReportOut, AuditEventOut, DataExportOut, VerifyOut, _Out
from core.compliance import VerifyOptions, decode_cursor, encode_cursor

router = APIRouter(tags=["compliance"])


class AuditEventRow(AuditEventOut):
    channel: str | None = Field(None, description="How the access came in: http, cli or system.")
    os_user: str | None = Field(None, description="The operating-system user of a CLI command.")


class AuditEventPage(_Out):
    events: list[AuditEventRow]
    count: int
    next: str | None = Field(
        None, description="Cursor of the next (older) page: pass it as `cursor`; null when there is no more."
    )


class LostRangeOut(_Out):
    lost_from_seq: int = Field(description="First seq of the log before the restore that is gone.")
    lost_to_seq: int | None = Field(
        description="Last seq known lost (the restore or the witness); null: unknown."
    )
    backup_id: str = Field(description="The backup the restore rebuilt the store from.")
    restore_seq: int = Field(description="The restore's own audit event.")
    restored_at: str
    witness_checkpoints: int = Field(
        description="Witness checkpoints, signed before the restore, in the range."
    )


class AuditVerifyOut(VerifyOut):
    status: str = Field(description="intact, intact_with_restore_gap (ok; see `lost`) or tampered.")
    lost: list[LostRangeOut] = Field(description="The audit ranges restores lost, oldest restore first.")
    head_hash: str
    head_signed: bool
    last_checkpoint_seq: int
    witness_checkpoints: int
    witness_seq: int
    since_seq: int
    key_id: str
    pinned_key: bool


@router.get(
    "/audit/events",
    response_model=AuditEventPage,
    summary="Audit events, newest first, one page at a time (filters as the CLI)",
    responses={400: {"description": "Invalid cursor (problem+json)"}},
)
def audit_events(
    request: Request,
    response: Response,
    ctx: Access,
    svc: Services,
    customer: Annotated[str | None, Query(max_length=128, description="External id of a customer.")] = None,
    subject: Annotated[str | None, Query(max_length=128)] = None,
    purpose: Annotated[str | None, Query(max_length=32, description="Events of this purpose only.")] = None,
    denied: Annotated[bool, Query(description="Only denials.")] = False,
    since: Annotated[dt.datetime | None, Query(description="ISO 8601, inclusive.")] = None,
    until: Annotated[dt.datetime | None, Query(description="ISO 8601, exclusive.")] = None,
    after: Annotated[int | None, Query(ge=0, description="Only events with a seq above this one.")] = None,
    cursor: Annotated[
        str | None, Query(max_length=200, description="The `next` value of the previous page.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=10000)] = 1000,
) -> dict[str, Any]:
    before = None
    if cursor is not None:
        before, after = decode_cursor(cursor)
    page = svc.compliance.events_page(
        ctx,
        customer=customer,
        subject=subject,
        purpose=purpose,
        denied_only=denied,
        since=since,
        until=until,
        limit=limit,
        after=after,
        before=before,
    )
    token = encode_cursor(page.next, after) if page.next is not None else None
    if token is not None:
        params = {k: v for k, v in request.query_params.items() if k not in {"cursor", "after"}}
        link = request.url.replace_query_params(**params, cursor=token)
        response.headers["Link"] = f'<{link}>; rel="next"'
    return {"events": page.events, "count": len(page.events), "next": token}


@router.get(
    "/audit/verify",
    response_model=AuditVerifyOut,
    summary="Verify the audit chain, signed head and checkpoints",
)
def audit_verify(
    ctx: Access,
    svc: Services,
    incremental: Annotated[
        bool, Query(description="Only what was appended since the last successful verification.")
    ] = False,
) -> AuditVerifyOut:
    """Uses the configured witness (``HUSHDB_AUDIT_WITNESS``) and pinned key (``HUSHDB_AUDIT_PUBLIC_KEY``);
    the verification is itself an audit event."""
    r = svc.compliance.verify(ctx, VerifyOptions(incremental=incremental))
    return AuditVerifyOut(
        ok=r.ok,
        status=r.status,
        lost=[LostRangeOut(**gap.as_dict()) for gap in r.lost],
        events_checked=r.events_checked,
        first_bad_seq=r.first_bad_seq,
        reason=r.reason,
        checkpoints_checked=r.checkpoints_checked,
        last_signed_seq=r.last_signed_seq,
        unsigned_tail=r.unsigned_tail,
        head_seq=r.head_seq,
        head_hash=r.head_hash,
        head_signed=r.head_signed,
        last_checkpoint_seq=r.last_checkpoint_seq,
        witness_checkpoints=r.witness_checkpoints,
        witness_seq=r.witness_seq,
        since_seq=r.since_seq,
        key_id=r.key_id,
        pinned_key=svc.hush.settings.audit_public_key is not None,
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
