"""Compliance and the data-protection officer: audit events, verify, access reports, data-subject export."""

from __future__ import annotations

import datetime as dt

import pytest
from http_tools import Api

from core.records import TransactionInput


def test_compliance_lists_filters_and_verifies_the_audit_log(api: Api) -> None:
    api.create_customer("alice", "K-1")
    api.get("/customers/K-1", "bob", "service")  # a hidden record: audited denial
    r = api.get("/audit/events", "cora", "compliance", params={"subject": "bob", "denied": "true"})
    assert r.status_code == 200, r.text
    events = r.json()["events"]
    assert events and all(e["subject"] == "bob" and e["decision"] == "deny" for e in events)
    mine = api.get("/audit/events", "cora", "compliance", params={"customer": "K-1"}).json()
    assert {e["subject"] for e in mine["events"]} >= {"alice", "bob"}
    since = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()
    assert api.get("/audit/events", "cora", "compliance", params={"since": since}).json()["count"] == 0
    v = api.get("/audit/verify", "cora", "compliance").json()
    assert v["ok"] is True and v["events_checked"] >= len(mine["events"])
    # reading the audit log is itself audited
    assert any(e["resource"] == "audit" for e in api.audit_rows(subject="cora"))


@pytest.mark.parametrize(
    ("subject", "purpose"), [("alice", "service"), ("cora", "service"), ("ana", "profiling")]
)
def test_others_cannot_read_the_audit_log(api: Api, subject: str, purpose: str) -> None:
    assert api.get("/audit/events", subject, purpose).status_code == 403
    assert api.get("/audit/verify", subject, purpose).status_code == 403


def test_access_report_names_who_touched_the_record(api: Api) -> None:
    api.create_customer("alice", "K-2")
    api.get("/customers/K-2", "alice", "service")
    api.get("/customers/K-2", "mailer", "marketing")
    r = api.get("/customers/K-2/access-report", "cora", "compliance")
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["external_id"] == "K-2"
    assert [e["subject"] for e in report["events"]][:3] == ["alice", "alice", "mailer"]
    assert api.get("/customers/K-2/access-report", "alice", "service").status_code == 403
    assert api.get("/customers/NO-SUCH/access-report", "cora", "compliance").status_code == 404


def test_dpo_data_export_holds_everything_and_is_audited(api: Api) -> None:
    api.create_customer("alice", "K-3", email="k3@example.com", consent_marketing_post=True)
    api.put("/customers/K-3/consents", "alice", "service", json={"profiling": True, "source": "web-form"})
    api.post("/customers/K-3/notes", "alice", "service", json={"text": "Asked about the loyalty scheme."})
    when = dt.datetime(2024, 5, 1, 12, tzinfo=dt.UTC)
    tx = TransactionInput("K-3", when, "12.50", "GBP", "Tea", "food")
    report = api.hush.writes.import_transactions(
        api.hush.operator_context("service"), [(2, tx)], authorize=False
    )
    assert report.imported == 1
    r = api.get("/customers/K-3/data-export", "dana", "erasure")
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["format"] == "hushdb-dsar/1" and doc["request_id"] == r.headers["x-request-id"]
    assert doc["customer"]["email"] == "k3@example.com"
    assert doc["consents"]["current"] == {"marketing_email": False, "marketing_post": True, "profiling": True}
    assert [(h["purpose"], h["granted"]) for h in doc["consents"]["history"]][-1] == ("profiling", True)
    assert doc["consents"]["history"][-1]["source"].endswith("web-form")
    assert [n["body"] for n in doc["notes"]] == ["Asked about the loyalty scheme."]
    assert doc["transactions"] == [
        {
            "occurred_at": when.isoformat(),
            "amount": "12.50",
            "currency": "GBP",
            "product": "Tea",
            "category": "food",
        }
    ]
    assert {e["subject"] for e in doc["access_report"]} >= {"alice", "dana"}
    exports = [e for e in api.audit_rows(subject="dana") if e["action"] == "export"]
    assert len(exports) == 1 and exports[0]["detail"]["operation"] == "dsar"
    assert exports[0]["request_id"] == r.headers["x-request-id"]


@pytest.mark.parametrize(
    ("subject", "purpose"),
    [("dana", "compliance"), ("alice", "service"), ("cora", "compliance"), ("adm", "service")],
)
def test_data_export_is_for_the_dpo_under_erasure_only(api: Api, subject: str, purpose: str) -> None:
    api.create_customer("alice", "K-4")
    r = api.get("/customers/K-4/data-export", subject, purpose)
    assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json"
    assert api.audit_rows(subject=subject, denied_only=True)


def test_data_export_of_an_erased_customer_is_410(api: Api) -> None:
    api.create_customer("alice", "K-5")
    assert api.delete("/customers/K-5", "dana", "erasure").status_code == 200
    assert api.get("/customers/K-5/data-export", "dana", "erasure").status_code == 410
    # the access report still answers who saw the person's data
    assert api.get("/customers/K-5/access-report", "cora", "compliance").json()["events"]
