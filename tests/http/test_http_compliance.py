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
    # marketing has no single-customer read (refused before the record is resolved: no record ref)
    assert api.get("/customers/K-2", "mailer", "marketing").status_code == 403
    r = api.get("/customers/K-2/access-report", "cora", "compliance")
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["external_id"] == "K-2"
    assert [e["subject"] for e in report["events"]][:2] == ["alice", "alice"]
    assert api.get("/customers/K-2/access-report", "alice", "service").status_code == 403
    assert api.get("/customers/NO-SUCH/access-report", "cora", "compliance").status_code == 404


def test_dpo_data_export_holds_everything_and_is_audited(api: Api) -> None:
    api.create_customer("alice", "K-3", email="k3@example.com", consent_marketing_post=True)
    api.put("/customers/K-3/consents", "alice", "service", json={"profiling": True, "source": "web-form"})
    api.post("/customers/K-3/notes", "alice", "service", json={"text": "Asked about the loyalty scheme."})
    when = dt.datetime(2024, 5, 1, 12, tzinfo=dt.UTC)
    tx = TransactionInput("K-3", when, "12.50", "GBP", "Tea", "food")
    report = api.hush.writes.import_transactions(api.hush.operator_context("service"), [(2, tx)])
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


# -- paging, the verification event, the channel (issue 15, items 5 and 9) -----------------------------------


def test_audit_events_are_paged_newest_first_with_a_cursor(api: Api) -> None:
    api.create_customer("alice", "K-P")
    for _ in range(5):
        api.get("/customers/K-P", "alice", "service")
    seen: list[int] = []
    r = api.get("/audit/events", "cora", "compliance", params={"subject": "alice", "limit": 2})
    pages = 0
    while True:
        assert r.status_code == 200, r.text
        body = r.json()
        seen += [e["seq"] for e in body["events"]]
        pages += 1
        if body["next"] is None:
            assert "Link" not in r.headers
            break
        assert r.headers["Link"].endswith('>; rel="next"') and "cursor=" in r.headers["Link"]
        assert "subject=alice" in r.headers["Link"] and "limit=2" in r.headers["Link"]
        r = api.get("/audit/events", "cora", "compliance", params={"subject": "alice", "limit": 2,
                                                                    "cursor": body["next"]})  # fmt: skip
    everything = [e["seq"] for e in api.audit_rows(subject="alice")]
    assert seen == sorted(everything, reverse=True) and pages == -(-len(everything) // 2)
    newest = max(everything)
    tail = api.get("/audit/events", "cora", "compliance", params={"subject": "alice", "after": newest - 2})
    assert [e["seq"] for e in tail.json()["events"]] == [s for s in sorted(everything, reverse=True)
                                                         if s > newest - 2]  # fmt: skip


@pytest.mark.parametrize(
    "cursor", ["not-a-cursor", "eyJ2IjoxfQ", "e30", "eyJ2IjoxLCJiZWZvcmUiOi0xLCJhZnRlciI6bnVsbH0"]
)
def test_an_invalid_cursor_is_a_400_problem(api: Api, cursor: str) -> None:
    before = len(api.audit_rows(subject="cora"))
    r = api.get("/audit/events", "cora", "compliance", params={"cursor": cursor})
    assert r.status_code == 400, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "cursor" in r.json()["detail"] and "Traceback" not in r.text
    assert len(api.audit_rows(subject="cora")) == before  # nothing was read


def test_verify_is_an_audit_event_and_says_the_head(api: Api) -> None:
    api.create_customer("alice", "K-V")
    v = api.get("/audit/verify", "cora", "compliance").json()
    assert v["ok"] and v["head_signed"] and v["unsigned_tail"] == 0 and len(v["head_hash"]) == 64
    event = [e for e in api.audit_rows(subject="cora") if e["action"] == "audit_verify"][-1]
    assert event["seq"] == v["head_seq"] + 1  # recorded after the verification it describes
    assert event["detail"]["ok"] is True and event["detail"]["verified_seq"] == v["head_seq"]
    assert event["detail"]["verified_hash"] == v["head_hash"]
    inc = api.get("/audit/verify", "cora", "compliance", params={"incremental": "true"}).json()
    assert (
        inc["ok"]
        and inc["since_seq"] == v["head_seq"]
        and inc["events_checked"] == event["seq"] - v["head_seq"]
    )


def test_events_record_the_http_channel(api: Api) -> None:
    api.create_customer("alice", "K-C")
    api.get("/customers/K-C", "alice", "service")
    rows = api.audit_rows(subject="alice")
    assert rows and all(r["channel"] == "http" and r["os_user"] == "" for r in rows)
    listed = api.get("/audit/events", "cora", "compliance", params={"subject": "alice"}).json()["events"]
    assert listed and all(e["channel"] == "http" for e in listed)
