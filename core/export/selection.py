"""Who may receive a campaign, in SQL: consent for the channel and no suppression.

The selection is a condition on :data:`core.models.customers_t` handed to
:meth:`core.gateway.Gateway.scan_customers`; rows are never filtered in Python.
The manifest's suppression counts come from one ``GROUP BY`` over the same
conditions, each customer counted once under the first reason that applies
(erased, deceased, do_not_contact, under_review, no_consent).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.errors import InputError
from core.models import customers_t

CHANNELS: Final[tuple[str, ...]] = ("email", "post")
SUPPRESSION_REASONS: Final[tuple[str, ...]] = (
    "erased",
    "deceased",
    "do_not_contact",
    "under_review",
    "no_consent",
)
SELECTED: Final = "selected"


def consent_column(channel: str) -> sa.ColumnElement[bool]:
    if channel == "email":
        return customers_t.c.consent_marketing_email
    if channel == "post":
        return customers_t.c.consent_marketing_post
    raise InputError(f"unknown channel {channel!r}; one of {', '.join(CHANNELS)}")


def eligible(channel: str) -> sa.ColumnElement[bool]:
    """Consent for ``channel``, not do-not-contact, not deceased, not under review (erasure: the gateway)."""
    return sa.and_(
        consent_column(channel).is_(True),
        customers_t.c.do_not_contact.is_(False),
        customers_t.c.deceased.is_(False),
        customers_t.c.under_review.is_(False),
    )


def _reason(channel: str) -> sa.ColumnElement[str]:
    return sa.case(
        (customers_t.c.erased_at.is_not(None), "erased"),
        (customers_t.c.deceased.is_(True), "deceased"),
        (customers_t.c.do_not_contact.is_(True), "do_not_contact"),
        (customers_t.c.under_review.is_(True), "under_review"),
        (consent_column(channel).is_(False), "no_consent"),
        else_=SELECTED,
    )


def count_by_reason(conn: Connection, channel: str, scope: sa.ColumnElement[bool]) -> dict[str, int]:
    """``{reason: customers}`` for every suppression reason, plus ``selected`` (SQL COUNTs)."""
    reason = _reason(channel).label("reason")
    rows = conn.execute(sa.select(reason, sa.func.count()).where(scope).group_by(reason))
    counts = dict.fromkeys((*SUPPRESSION_REASONS, SELECTED), 0)
    for name, n in rows:
        counts[str(name)] = int(n)
    return counts


def stored_sensitive(conn: Connection, pseudonyms: list[str]) -> set[str]:
    """Which of ``pseudonyms`` have name or address text analysed as sensitive when written."""
    if not pseudonyms:
        return set()
    rows: Iterable[Any] = conn.execute(
        sa.select(customers_t.c.pseudonym).where(
            customers_t.c.pseudonym.in_(pseudonyms), customers_t.c.text_sensitivity == "sensitive"
        )
    ).scalars()
    return {str(p) for p in rows}
