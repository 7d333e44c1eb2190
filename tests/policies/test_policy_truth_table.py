"""The truth table of the shipped policy: every role x purpose x resource field x action x row.

The expectations below are written by hand from issue 3 (the role defaults), NOT
generated from the policy files.  If a line of policy.csv changes what a role gets,
a case here fails.  Rows: ``own`` is a customer owned by the subject, ``other`` one
owned by somebody else.
"""

from __future__ import annotations

import itertools

import pytest

from policies.authorizer import Authorizer

# The whole vocabulary, by hand (a rename in policies/vocabulary.py breaks these tests).
ROLES = ("sales", "mailmerge", "compliance", "analyst", "dpo", "admin", "operator", "system")
PURPOSES = ("service", "marketing", "profiling", "data_quality", "compliance", "erasure")
RESOURCES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "customer": (
        (
            "external_id",
            "full_name",
            "email",
            "phone",
            "postal_address",
            "birth_date",
            "owner",
            "consent",
            "suppression",
            "created_at",
            "pseudonym",
        ),
        ("read", "write", "erase", "review"),
    ),
    "note": (("body", "findings", "author", "created_at"), ("read", "write")),
    "transaction": (("occurred_at", "amount", "currency", "product", "category"), ("read", "write")),
    "audit": (("events", "report", "verify", "anomalies"), ("read",)),
    "admin": (("keys", "policy", "apikeys"), ("manage",)),
    "profile": (("rfm", "clv", "churn", "cross_sell", "quality", "results"), ("run", "read")),
}

# A subject holding each role (roles.csv); "own" rows are owned by it, "other" rows by OTHER.
SUBJECT = {
    "sales": "alice",
    "mailmerge": "mailer",
    "compliance": "cora",
    "analyst": "ana",
    "dpo": "dana",
    "admin": "adm",
    "operator": "operator:root",  # granted by holding the key file, never by roles.csv
    "system": "hushdb",  # hushdb's own checks, never by roles.csv
}
OTHER = "bob-or-someone-else"

F = "full"
P = "partial"
H = "hashed"
N = "none"
W = None  # an action that returns no values has no mask

Grant = tuple[str, dict[str, str | None]]  # (scope, field -> mask)

# (role, purpose) -> (resource, action) -> (scope, {field: mask}).  Anything absent is denied.
EXPECTED: dict[tuple[str, str], dict[tuple[str, str], Grant]] = {
    # sales, purpose service: only customers they own; full contact fields (not the pseudonym);
    # may change contact fields, consent and suppression (owner, created_at, pseudonym are set
    # by the system); read every field of their customers' notes and write note bodies.
    ("sales", "service"): {
        ("customer", "read"): (
            "own",
            {
                "external_id": F,
                "full_name": F,
                "email": F,
                "phone": F,
                "postal_address": F,
                "birth_date": F,
                "owner": F,
                "consent": F,
                "suppression": F,
                "created_at": F,
            },
        ),
        ("customer", "write"): (
            "own",
            {
                "external_id": W,
                "full_name": W,
                "email": W,
                "phone": W,
                "postal_address": W,
                "birth_date": W,
                "consent": W,
                "suppression": W,
            },
        ),
        ("note", "read"): ("own", {"body": F, "findings": F, "author": F, "created_at": F}),
        ("note", "write"): ("own", {"body": W}),
    },
    # mailmerge, purpose marketing: what a letter needs, on every customer (consent is
    # filtered by the export); never anything of a note (the body is explicitly denied).
    ("mailmerge", "marketing"): {
        ("customer", "read"): (
            "all",
            {
                "external_id": F,
                "pseudonym": F,
                "full_name": F,
                "postal_address": F,
                "email": F,
                "consent": F,
                "suppression": F,
            },
        ),
        # the latest profiling labels, for the derived fields segment and recommended_product
        ("profile", "read"): ("all", {"results": F}),
    },
    # compliance, purpose compliance: the whole audit log; customers with direct identifiers
    # partially masked; note bodies withheld (mask none) while their findings are readable;
    # review decisions on any customer's suppression (clear/keep a review, mark deceased or
    # do-not-contact) and no other change: no customer write or erase, no note write.
    ("compliance", "compliance"): {
        ("customer", "review"): ("all", {"suppression": W}),
        ("audit", "read"): ("all", {"events": F, "report": F, "verify": F, "anomalies": F}),
        ("customer", "read"): (
            "all",
            {
                "external_id": F,
                "full_name": P,
                "email": P,
                "phone": P,
                "postal_address": P,
                "birth_date": P,
                "owner": F,
                "consent": F,
                "suppression": F,
                "created_at": F,
                "pseudonym": F,
            },
        ),
        ("note", "read"): ("all", {"body": N, "findings": F, "author": F, "created_at": F}),
    },
    # analyst, purpose profiling: pseudonym and non-identifying attributes, all transactions,
    # the profiling models (run and read); no direct identifier, no note.
    ("analyst", "profiling"): {
        ("customer", "read"): ("all", {"pseudonym": F, "consent": F, "created_at": F}),
        ("transaction", "read"): (
            "all",
            {"occurred_at": F, "amount": F, "currency": F, "product": F, "category": F},
        ),
        ("profile", "run"): ("all", {"rfm": W, "clv": W, "churn": W, "cross_sell": W, "results": W}),
        ("profile", "read"): ("all", {"rfm": F, "clv": F, "churn": F, "cross_sell": F, "results": F}),
    },
    # analyst, purpose data_quality: as profiling for attributes, plus keyed hashes of name,
    # email and phone to find duplicates without plaintext; the quality model only.
    ("analyst", "data_quality"): {
        ("customer", "read"): (
            "all",
            {"pseudonym": F, "consent": F, "created_at": F, "full_name": H, "email": H, "phone": H},
        ),
        ("transaction", "read"): (
            "all",
            {"occurred_at": F, "amount": F, "currency": F, "product": F, "category": F},
        ),
        ("profile", "run"): ("all", {"quality": W, "results": W}),
        ("profile", "read"): ("all", {"quality": F, "results": F}),
    },
    # dpo, purpose erasure: erase customers; read everything about a person for a
    # data-subject access request (customer, notes, transactions) and the access report.
    ("dpo", "erasure"): {
        ("customer", "read"): ("all", dict.fromkeys(RESOURCES["customer"][0], F)),
        ("customer", "erase"): ("all", dict.fromkeys(RESOURCES["customer"][0], W)),
        ("note", "read"): ("all", {"body": F, "findings": F, "author": F, "created_at": F}),
        ("transaction", "read"): (
            "all",
            {"occurred_at": F, "amount": F, "currency": F, "product": F, "category": F},
        ),
        ("audit", "read"): ("all", {"report": F}),
    },
    # admin, purpose service: keys, policy reload and API keys; no customer data at all.
    ("admin", "service"): {
        ("admin", "manage"): ("all", {"keys": W, "policy": W, "apikeys": W}),
    },
    # operator (whoever holds the key file; the CLI without --as): key rotation, API keys,
    # transaction imports and the audit log; never a customer's data or a note.
    ("operator", "service"): {
        ("admin", "manage"): ("all", {"keys": W, "apikeys": W}),
        ("transaction", "write"): (
            "all",
            {"occurred_at": W, "amount": W, "currency": W, "product": W, "category": W},
        ),
    },
    ("operator", "compliance"): {
        ("admin", "manage"): ("all", {"keys": W, "apikeys": W}),
        ("audit", "read"): ("all", {"events": F, "report": F, "verify": F, "anomalies": F}),
    },
    # system (hushdb's record-aware note detection and data-quality pass): names, emails
    # and phones in full, for purpose data_quality only; results carry pseudonyms only.
    ("system", "data_quality"): {
        ("customer", "read"): ("all", {"pseudonym": F, "full_name": F, "email": F, "phone": F}),
    },
}


def _expected(
    role: str, purpose: str, resource: str, field: str, action: str
) -> tuple[bool, str, str | None]:
    scope, fields = EXPECTED.get((role, purpose), {}).get((resource, action), ("", {}))
    if field in fields:
        return True, scope, fields[field]
    return False, "", None


CASES = [
    (role, purpose, resource, field, action, row)
    for role, purpose in itertools.product(ROLES, PURPOSES)
    for resource, (fields, actions) in RESOURCES.items()
    for field, action in itertools.product(fields, actions)
    for row in ("own", "other")
]


def test_expected_table_uses_only_known_names() -> None:
    for (role, purpose), grants in EXPECTED.items():
        assert role in ROLES
        assert purpose in PURPOSES
        for (resource, action), (scope, fields) in grants.items():
            assert action in RESOURCES[resource][1]
            assert scope in ("all", "own")
            assert set(fields) <= set(RESOURCES[resource][0])


@pytest.mark.parametrize(
    ("role", "purpose", "resource", "field", "action", "row"),
    CASES,
    ids=[f"{r}-{p}-{res}.{f}-{a}-{row}" for r, p, res, f, a, row in CASES],
)
def test_truth_table(
    authorizer: Authorizer, role: str, purpose: str, resource: str, field: str, action: str, row: str
) -> None:
    subject = SUBJECT[role]
    allowed, scope, mask = _expected(role, purpose, resource, field, action)
    plan = authorizer.plan(
        subject=subject,
        roles=frozenset({role}),
        purpose=purpose,
        resource=resource,
        action=action,
        fields=[field],
    )
    owner = subject if row == "own" else OTHER
    visible = allowed and (scope == "all" or row == "own")
    assert plan.covers_row(owner) is visible
    if allowed:
        assert plan.allowed == {field}
        assert plan.denied == frozenset()
        assert plan.decision == "allow"
        assert plan.scope == scope
        assert plan.masks.get(field) == mask
    else:
        assert plan.allowed == frozenset()
        assert plan.denied == {field}
        assert plan.decision == "deny"
        assert field not in plan.masks


PLAN_CASES = [
    (role, purpose, resource, action)
    for role, purpose in itertools.product(ROLES, PURPOSES)
    for resource, (_, actions) in RESOURCES.items()
    for action in actions
]


@pytest.mark.parametrize(("role", "purpose", "resource", "action"), PLAN_CASES)
def test_whole_resource_plan(
    authorizer: Authorizer, role: str, purpose: str, resource: str, action: str
) -> None:
    """Asking for every field at once gives the same answer as field by field."""
    fields = RESOURCES[resource][0]
    scope, grants = EXPECTED.get((role, purpose), {}).get((resource, action), ("own", {}))
    plan = authorizer.plan(
        subject=SUBJECT[role],
        roles=frozenset({role}),
        purpose=purpose,
        resource=resource,
        action=action,
        fields=fields,
    )
    assert plan.allowed == set(grants)
    assert plan.denied == set(fields) - set(grants)
    assert dict(plan.masks) == {f: m for f, m in grants.items() if m is not None}
    expected_decision = "deny" if not grants else ("allow" if len(grants) == len(fields) else "partial")
    assert plan.decision == expected_decision
    if grants:
        assert plan.scope == scope
        assert plan.owner_filter == (SUBJECT[role] if scope == "own" else None)
