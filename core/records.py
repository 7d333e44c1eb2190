"""Plain value objects that cross the store's boundary on the way *in*.

These carry plaintext that a user supplied for writing; nothing in core
returns them.  What comes *out* of the store is built by the gateway.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from policies.vocabulary import RESOURCES

PII_FIELDS: tuple[str, ...] = ("full_name", "email", "phone", "postal_address", "birth_date")
"""Direct identifiers: always encrypted at rest."""

TEXT_FIELDS: tuple[str, ...] = ("full_name", "postal_address")
"""Free-ish text fields that are analysed for sensitive content on write."""

CUSTOMER_FIELDS: tuple[str, ...] = RESOURCES["customer"].fields
"""Every field of the ``customer`` resource, as named in the policy files (one vocabulary)."""

CONSENT_KEYS: tuple[str, ...] = ("marketing_email", "marketing_post", "profiling")
SUPPRESSION_KEYS: tuple[str, ...] = ("do_not_contact", "deceased", "under_review")


@dataclass(frozen=True, slots=True)
class CustomerInput:
    """One customer to create.  Only ``external_id`` and ``full_name`` are required."""

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


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
class TransactionInput:
    external_id: str
    occurred_at: dt.datetime
    amount: str
    currency: str
    product: str
    category: str
