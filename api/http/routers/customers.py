"""Customers: create, read, find, update, consents, review, erasure (``/customers``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from api.http.deps import Access, Services
from api.http.schemas import (
    ConsentsIn,
    CustomerCreated,
    CustomerIn,
    CustomerList,
    CustomerOut,
    CustomerPatch,
    ErasureReceiptOut,
    FieldWarning,
    ReviewReceipt,
    UpdateReceipt,
)
from core.errors import InputError
from core.gateway import CustomerRecord
from core.records import CustomerChanges, CustomerInput
from core.writes import RowWarning

router = APIRouter(tags=["customers"])

ExternalIdPath = Annotated[
    str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9\-_.:]+$", description="External id.")
]


def customer_doc(record: CustomerRecord) -> dict[str, Any]:
    """Exactly the fields the caller's plan allows (``external_id`` too only when it is one of them)."""
    return dict(record.values)


@router.post("/customers", status_code=201, response_model=CustomerCreated, summary="Create a customer")
def create_customer(body: CustomerIn, ctx: Access, svc: Services, response: Response) -> CustomerCreated:
    inp = CustomerInput(
        external_id=body.external_id,
        full_name=body.full_name,
        owner=body.owner or ctx.subject,
        email=body.email,
        phone=body.phone,
        postal_address=body.postal_address,
        birth_date=body.birth_date,
        consent_marketing_email=body.consent_marketing_email,
        consent_marketing_post=body.consent_marketing_post,
        consent_profiling=body.consent_profiling,
        do_not_contact=body.do_not_contact,
        deceased=body.deceased,
    )
    created = svc.hush.writes.create(ctx, inp)
    response.headers["Location"] = f"/customers/{created.external_id}"
    return CustomerCreated(
        external_id=created.external_id,
        pseudonym=created.pseudonym,
        under_review=created.under_review,
        warnings=_warnings(created.warnings),
    )


def _warnings(warned: Sequence[RowWarning]) -> list[FieldWarning]:
    """A field stored as given, by name and reason (never its value)."""
    return [FieldWarning(field=w.field, reason=w.reason) for w in warned]


@router.get(
    "/customers",
    response_model=CustomerList,
    response_model_exclude_unset=True,
    summary="Find customers by email or phone (blind index)",
    description="Needs read permission on the field searched by (email or phone), for the purpose given, "
    "with a mask that shows it (full or partial); returns only the plan's fields.  Purpose `marketing` "
    "has no single-customer read or look-up (403): campaigns read people in bulk, with consent, "
    "suppression and the outbound gate applied.",
)
def find_customers(
    ctx: Access,
    svc: Services,
    email: Annotated[str | None, Query(min_length=1, max_length=320)] = None,
    phone: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
) -> dict[str, Any]:
    if (email is None) == (phone is None):
        raise InputError("give exactly one of the query parameters email or phone")
    records = svc.hush.gateway.find_customers(ctx, email=email, phone=phone)
    return {"customers": [customer_doc(r) for r in records], "count": len(records)}


@router.get(
    "/customers/{external_id}",
    response_model=CustomerOut,
    response_model_exclude_unset=True,
    summary="Read one customer as the caller's plan allows",
)
def read_customer(external_id: ExternalIdPath, ctx: Access, svc: Services) -> dict[str, Any]:
    # The caller named the customer: the id is echoed, every other field is the plan's.
    return {"external_id": external_id, **customer_doc(svc.hush.gateway.read_customer(ctx, external_id))}


@router.patch(
    "/customers/{external_id}",
    response_model=UpdateReceipt,
    response_model_exclude_unset=True,
    summary="Change a customer",
    description="An email or phone that fails its format check is stored as given (not normalised, "
    "not indexed) and listed under `warnings` (absent when there are none).",
)
def update_customer(
    external_id: ExternalIdPath, body: CustomerPatch, ctx: Access, svc: Services
) -> UpdateReceipt:
    given = body.model_dump(exclude_unset=True, exclude={"clear"})
    given = {k: v for k, v in given.items() if v is not None}
    if not given and not body.clear:
        raise InputError("nothing to change")
    if set(given) & set(body.clear):
        raise InputError("a field cannot be set and cleared at once")
    warned = svc.hush.writes.update(ctx, external_id, CustomerChanges(**given, clear=tuple(body.clear)))
    receipt = UpdateReceipt(external_id=external_id, updated=sorted([*given, *body.clear]))
    if warned:
        receipt.warnings = _warnings(warned)  # set only when there are some (the response omits it otherwise)
    return receipt


@router.put("/customers/{external_id}/consents", response_model=UpdateReceipt, summary="Set consents")
def set_consents(external_id: ExternalIdPath, body: ConsentsIn, ctx: Access, svc: Services) -> UpdateReceipt:
    consents = {
        k: v
        for k, v in body.model_dump(include={"marketing_email", "marketing_post", "profiling"}).items()
        if v is not None
    }
    if not consents:
        raise InputError("give at least one of marketing_email, marketing_post, profiling")
    source = f"api:{ctx.subject}:{body.source}"[:64]
    svc.hush.writes.set_consents(ctx, external_id, consents, source=source)
    return UpdateReceipt(external_id=external_id, updated=sorted(f"consent.{k}" for k in consents))


@router.post(
    "/customers/{external_id}/review",
    response_model=ReviewReceipt,
    summary="Clear under_review after a person looked at the flagged content",
)
def clear_review(external_id: ExternalIdPath, ctx: Access, svc: Services) -> ReviewReceipt:
    seq = svc.hush.writes.clear_review(ctx, external_id)
    return ReviewReceipt(external_id=external_id, under_review=False, audit_seq=seq)


@router.delete(
    "/customers/{external_id}",
    response_model=ErasureReceiptOut,
    summary="Erase a customer by crypto-shredding (dpo, purpose erasure)",
)
def erase_customer(external_id: ExternalIdPath, ctx: Access, svc: Services) -> ErasureReceiptOut:
    receipt = svc.hush.writes.erase(ctx, external_id)
    return ErasureReceiptOut.model_validate(receipt.to_dict())
