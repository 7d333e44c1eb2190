"""Plain value objects that cross the store's boundary on the way *in*.

These carry plaintext that a user supplied for writing; nothing in core
returns them.  What comes *out* of the store is built by the gateway.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from core.redact import redacted_repr
from policies.vocabulary import RESOURCES

PII_FIELDS: tuple[str, ...] = ("full_name", "email", "phone", "postal_address", "birth_date")
"""Direct identifiers: always encrypted at rest."""

TEXT_FIELDS: tuple[str, ...] = ("full_name", "postal_address")
"""Free-ish text fields that are analysed for sensitive content on write."""

CUSTOMER_FIELDS: tuple[str, ...] = RESOURCES["customer"].fields
"""Every field of the ``customer`` resource, as named in the policy files (one vocabulary)."""

CONSENT_KEYS: tuple[str, ...] = ("marketing_email", "marketing_post", "profiling")
SUPPRESSION_KEYS: tuple[str, ...] = ("do_not_contact", "deceased", "under_review")


@dataclass(frozen=True, slots=True, repr=False)
class CustomerInput:
    """One customer to create.  Only ``external_id`` and ``full_name`` are required.

    Its ``repr`` shows the external id, owner and flags, never the personal data.
    """

    external_id: str
    full_name: str
    owner: str
    email: str | None = None
    phone: str | None = None
    postal_address: str | None = None
    birth_date: dt.date | None = None
    consent_marketing_email: bool | None = None
    consent_marketing_post: bool | None = None
    consent_profiling: bool | None = None
    do_not_contact: bool = False
    deceased: bool = False

    def __repr__(self) -> str:
        return redacted_repr(self, shown=_CUSTOMER_SHOWN)


_CUSTOMER_SHOWN = (
    "external_id",
    "owner",
    "consent_marketing_email",
    "consent_marketing_post",
    "consent_profiling",
    "do_not_contact",
    "deceased",
    "clear",
)


@dataclass(frozen=True, slots=True, repr=False)
class CustomerChanges:
    """A partial update; ``None`` leaves a field as it is, ``clear`` empties fields."""

    full_name: str | None = None
    email: str | None = None
    phone: str | None = None
    postal_address: str | None = None
    birth_date: dt.date | None = None
    do_not_contact: bool | None = None
    deceased: bool | None = None
    clear: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return redacted_repr(self, shown=_CUSTOMER_SHOWN)


@dataclass(frozen=True, slots=True)
class TransactionInput:
    external_id: str
    occurred_at: dt.datetime
    amount: str
    currency: str
    product: str
    category: str
