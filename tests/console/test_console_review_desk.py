"""Review decisions rest on one narrow policy action: ``customer``/``suppression``/``review``.

The shipped line ``p, compliance, compliance, customer, suppression, review, allow, -, all``
lets the compliance officer clear or keep a review (with a written reason), mark a
customer deceased or do-not-contact, and nothing else: every other write is still
refused (403, audited), reads stay masked, and the other roles keep what they had.
"""

from __future__ import annotations

from typing import Any

import pytest
from console_tools import Console

FLAGGED_NAME = "Daughter Killed In Car Crash"
REASON = "The name line is a broker's marketing slogan"


def _customer(console: Console, external_id: str, **fields: Any) -> dict[str, Any]:
    body = {
        "external_id": external_id,
        "full_name": "Marjorie Quill",
        "email": "mq@example.com",
        "consent_marketing_post": True,
        **fields,
    }
    r = console.api("POST", "/customers", "alice", "service", json=body)
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result


def _suppression(console: Console, external_id: str) -> dict[str, bool]:
    doc = console.api("GET", f"/customers/{external_id}", "alice", "service").json()
    flags: dict[str, bool] = doc["suppression"]
    return flags


# (method, path, JSON body): what a `write` or `erase` permission would allow; compliance has neither.
REFUSED_TO_COMPLIANCE = [
    ("POST", "/customers", {"external_id": "N-1", "full_name": "New Person", "owner": "alice"}),
    ("PATCH", "/customers/K-1", {"full_name": "Other Name"}),
    ("PATCH", "/customers/K-1", {"deceased": True}),  # a flag through the write path: still a write
    ("PATCH", "/customers/K-1", {"do_not_contact": False}),
    ("PUT", "/customers/K-1/consents", {"marketing_post": False}),
    ("POST", "/customers/K-1/notes", {"text": "Called about the invoice"}),
    ("POST", "/customers/K-1/review", None),  # the API's clear-review is the `write` permission's
    ("DELETE", "/customers/K-1", None),
]


@pytest.mark.parametrize(("method", "path", "body"), REFUSED_TO_COMPLIANCE)
def test_review_grants_no_other_write(console: Console, method: str, path: str, body: Any) -> None:
    _customer(console, "K-1", full_name=FLAGGED_NAME)
    before = console.events()[-1]["seq"]
    kw = {} if body is None else {"json": body}
    r = console.api(method, path, "cora", "compliance", **kw)
    assert r.status_code == 403, (method, path, r.status_code, r.text)
    denied = [e for e in console.events(subject="cora", decision="deny") if e["seq"] > before]
    assert denied, "the refusal left no audit event"
    assert not [e for e in console.events(subject="cora", decision="allow") if e["seq"] > before]
    assert _suppression(console, "K-1")["under_review"] is True
    assert console.api("GET", "/customers/N-1", "alice", "service").status_code == 404


def test_compliance_reads_stay_masked(console: Console) -> None:
    _customer(console, "K-2")
    doc = console.api("GET", "/customers/K-2", "cora", "compliance").json()
    assert doc["full_name"] != "Marjorie Quill" and doc["full_name"].startswith("M")
    assert doc["email"] != "mq@example.com" and doc["email"].endswith("@example.com")
    notes = console.api("GET", "/customers/K-2/notes", "cora", "compliance")
    assert notes.status_code in (200, 404)


def test_compliance_decides_every_review_outcome_with_a_reason(console: Console) -> None:
    for xid in ("K-3", "K-4", "K-5"):
        _customer(console, xid, full_name=FLAGGED_NAME)
    _customer(console, "K-6")
    console.sign_in("cora")
    post = console.post_form
    # a written reason is required, from the decision's own list, and checked
    for form in (
        {"decision": "clear", "reason_code": "false_positive", "reason": ""},
        {"decision": "clear", "reason_code": "false_positive", "reason": "too short"},
        {"decision": "clear", "reason_code": "sensitive_confirmed", "reason": REASON},  # a keep code
        {"decision": "clear", "reason_code": "", "reason": REASON},
        {"decision": "clear", "reason_code": "false_positive", "reason": "x" * 301},
        {"decision": "clear", "reason_code": "false_positive", "reason": "mail her at a@b.example"},
        {"decision": "clear", "reason_code": "false_positive", "reason": "She has HIV, fine to write"},
        {"decision": "erase", "reason_code": "false_positive", "reason": REASON},
    ):
        r = post("/console/people/K-3/review", form, csrf_from="/console/people/K-3")
        assert r.status_code == 422, (form, r.status_code)
    assert _suppression(console, "K-3")["under_review"] is True
    assert not console.events(subject="cora", action="review")
    clear = {"decision": "clear", "reason_code": "false_positive", "reason": REASON}
    assert post("/console/people/K-3/review", clear, csrf_from="/console/review").status_code == 303
    keep = {
        "decision": "keep",
        "reason_code": "sensitive_confirmed",
        "reason": "Content confirmed as sensitive",
    }
    assert post("/console/people/K-4/review", keep, csrf_from="/console/review").status_code == 303
    dead = {"decision": "deceased", "reason_code": "death_notified", "reason": "Letter from the family"}
    assert post("/console/people/K-5/review", dead, csrf_from="/console/review").status_code == 303
    dnc = {
        "flag": "do_not_contact",
        "reason_code": "customer_objected",
        "reason": "Objected to marketing in writing",
        "confirm": "yes",
    }
    assert post("/console/people/K-6/flags", dnc, csrf_from="/console/review").status_code == 303
    assert _suppression(console, "K-3") == {"do_not_contact": False, "deceased": False, "under_review": False}
    assert _suppression(console, "K-4") == {"do_not_contact": False, "deceased": False, "under_review": True}
    assert _suppression(console, "K-5") == {"do_not_contact": False, "deceased": True, "under_review": True}
    assert _suppression(console, "K-6") == {"do_not_contact": True, "deceased": False, "under_review": False}
    decided = console.events(subject="cora", action="review")
    assert [(e["detail"]["operation"], e["detail"]["reason_code"]) for e in decided] == [
        ("review_cleared", "false_positive"),
        ("review_kept", "sensitive_confirmed"),
        ("deceased_set", "death_notified"),
        ("do_not_contact_set", "customer_objected"),
    ]
    assert all(
        e["resource"] == "customer" and e["fields"] == ["suppression"] and e["purpose"] == "compliance"
        for e in decided
    )
    assert all(e["row_count"] == 1 and len(e["record_refs"]) == 1 for e in decided)
    queue = console.client.get("/console/review").text
    assert "Customers under review: 1" in queue  # K-4 kept; K-5 deceased left the queue
    assert "Resolve K-4" in queue and "Resolve K-5" not in queue


def test_roles_without_review_are_refused_and_audited(console: Console) -> None:
    _customer(console, "K-7", full_name=FLAGGED_NAME)
    console.sign_in("dana")  # the DPO signs in to the console but makes no review decisions
    before = console.events()[-1]["seq"]
    r = console.post_form(
        "/console/people/K-7/review",
        {"decision": "clear", "reason_code": "false_positive", "reason": REASON},
        csrf_from="/console/requests",
    )
    assert r.status_code == 403
    denied = [e for e in console.events(subject="dana", decision="deny") if e["seq"] > before]
    assert denied and denied[-1]["action"] in ("review", "console_view")
    assert _suppression(console, "K-7")["under_review"] is True
    # the API's writes are unchanged: the owner clears a review and sets a flag as before
    assert console.api("POST", "/customers/K-7/review", "alice", "service").status_code == 200
    r = console.api("PATCH", "/customers/K-7", "alice", "service", json={"do_not_contact": True})
    assert r.status_code == 200
    assert console.api("POST", "/customers/K-7/review", "bob", "service").status_code == 404


def test_person_page_offers_the_decisions_only_to_review_holders(console: Console) -> None:
    _customer(console, "K-8", full_name=FLAGGED_NAME)
    console.sign_in("cora")
    page = console.client.get("/console/people/K-8").text
    assert "Resolve the review of K-8" in page and "Set a suppression flag" in page
    assert FLAGGED_NAME not in page
