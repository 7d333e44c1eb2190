"""End-to-end truth table of the read path: role x purpose x own/other row, through the real gateway.

The policy layer has its own exhaustive table (tests/policies); this one proves
that what the policy says is what the gateway returns: which fields come back,
how they are masked, and which rows are visible.  Expectations are written by
hand, one comment per row.
"""

from __future__ import annotations

import pytest

from api.wiring import Hush
from core.errors import AccessDenied, NotFoundError
from core.records import CustomerInput

ALL = {
    "external_id", "full_name", "email", "phone", "postal_address", "birth_date",
    "owner", "consent", "suppression", "created_at", "pseudonym",
}  # fmt: skip
SALES = ALL - {"pseudonym"}
MAILMERGE = {"external_id", "pseudonym", "full_name", "postal_address", "email", "consent", "suppression"}
ANALYST_PROFILING = {"pseudonym", "consent", "created_at"}
ANALYST_QUALITY = {"pseudonym", "consent", "created_at", "full_name", "email", "phone"}

EMAIL = "own.customer@example.com"

# (subject, purpose, row owned by alice?, expected: set of fields | "denied" | "not_found", how email looks)
TABLE = [
    ("alice", "service", True, SALES, "full"),  # sales reads her own customer in full
    ("alice", "service", False, "not_found", None),  # another rep's customer: 404, no existence oracle
    ("bob", "service", True, "not_found", None),  # same rule from bob's side
    ("alice", "marketing", True, "denied", None),  # sales has no marketing purpose
    ("alice", "compliance", True, "denied", None),  # nor compliance
    ("mailer", "marketing", True, "denied", None),  # marketing reads only through a campaign (issue 15)
    ("mailer", "marketing", False, "denied", None),  # ... whoever owns the customer
    ("mailer", "service", True, "denied", None),  # mail-merge only for marketing
    ("cora", "compliance", True, ALL, "partial"),  # compliance: everything, identifiers partially masked
    ("cora", "service", True, "denied", None),  # compliance only for compliance
    ("ana", "profiling", True, ANALYST_PROFILING, None),  # analyst: pseudonymous attributes only
    ("ana", "data_quality", False, ANALYST_QUALITY, "hashed"),  # data quality: identifiers as keyed hashes
    ("ana", "marketing", True, "denied", None),  # analyst has no marketing purpose
    ("dana", "erasure", False, ALL, "full"),  # dpo: everything, for data-subject requests
    ("dana", "service", True, "denied", None),  # dpo only for erasure
    ("adm", "service", True, "denied", None),  # admin: explicit deny on customer data
    ("adm", "compliance", True, "denied", None),  # ... for every purpose
]


@pytest.fixture
def seeded(hush: Hush) -> Hush:
    hush.writes.create(
        hush.context("alice", "service"),
        CustomerInput(
            external_id="OWN", full_name="Olive Owner", owner="alice", email=EMAIL, phone="+44 7700 900555"
        ),
    )
    hush.writes.create(
        hush.context("bob", "service"),
        CustomerInput(
            external_id="OTHER", full_name="Oscar Other", owner="bob", email=EMAIL.replace("own", "other")
        ),
    )
    return hush


@pytest.mark.parametrize(("subject", "purpose", "own", "expected", "email_mask"), TABLE)
def test_read_path_truth_table(
    seeded: Hush, subject: str, purpose: str, own: bool, expected: set[str] | str, email_mask: str | None
) -> None:
    ctx = seeded.context(subject, purpose)
    target = "OWN" if own else "OTHER"
    if expected == "denied":
        with pytest.raises(AccessDenied):
            seeded.gateway.read_customer(ctx, target)
        return
    if expected == "not_found":
        with pytest.raises(NotFoundError):
            seeded.gateway.read_customer(ctx, target)
        return
    record = seeded.gateway.read_customer(ctx, target)
    assert set(record.values) == expected
    email = record.values.get("email")
    real = EMAIL if own else EMAIL.replace("own", "other")
    if email_mask == "full":
        assert email == real
    elif email_mask == "partial":
        assert email != real and "*" in email and email.endswith("@example.com")
    elif email_mask == "hashed":
        assert email.startswith("h:") and real not in email
