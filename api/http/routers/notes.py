"""Notes: add one (analysed once on write) and read them masked per plan."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.http.deps import Access, Services
from api.http.problems import FeatureUnavailable
from api.http.routers.customers import ExternalIdPath
from api.http.schemas import NoteIn, NoteList, NoteReceiptOut
from core.errors import PayloadTooLargeError

router = APIRouter(tags=["notes"])
FINDING_KEYS = ("type", "category", "start", "end")


@router.post(
    "/customers/{external_id}/notes",
    status_code=201,
    response_model=NoteReceiptOut,
    summary="Add a note; returns what the analysis found (types and offsets, never the matched text)",
)
def add_note(external_id: ExternalIdPath, body: NoteIn, ctx: Access, svc: Services) -> NoteReceiptOut:
    limit = svc.hush.settings.note_max_bytes
    if len(body.text.encode("utf-8")) > limit:
        raise PayloadTooLargeError(f"a note may be at most {limit} bytes of UTF-8")
    if svc.notes is None:
        raise FeatureUnavailable("the notes service is not installed in this build")
    receipt = svc.notes.add(ctx, external_id, body.text)
    return NoteReceiptOut.model_validate(
        {
            "note_id": receipt.note_id,
            "sensitivity": receipt.sensitivity,
            "labels": list(receipt.labels),
            "findings": [{k: f.get(k) for k in FINDING_KEYS} for f in receipt.findings],
        }
    )


@router.get(
    "/customers/{external_id}/notes",
    response_model=NoteList,
    response_model_exclude_unset=True,
    summary="Read a customer's notes, masked per the caller's plan",
)
def read_notes(external_id: ExternalIdPath, ctx: Access, svc: Services) -> dict[str, Any]:
    notes = svc.hush.gateway.read_notes(ctx, external_id)
    return {"external_id": external_id, "notes": [{"note_id": n.note_id, **n.values} for n in notes]}
