"""Console pages: each renders with real data for its role, is refused (403, audited) for others,
and every view and action is an audit event."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from console_tools import Console

from core.export.output import ExportWriter

FLAGGED_NAME = "Daughter Killed In Car Crash"


def _customer(console: Console, external_id: str, **fields: Any) -> dict[str, Any]:
    body = {"external_id": external_id, "full_name": f"Customer {external_id}", **fields}
    r = console.api("POST", "/customers", "alice", "service", json=body)
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result


def _quarantine(console: Console, campaign: str, pseudonym: str) -> Path:
    """A finished mail-merge job in the server's exports directory that withheld one letter."""
    exports = Path(console.hush.settings.exports_dir)
    exports.mkdir(parents=True, exist_ok=True)
    out = exports / f"job-{campaign}"
    writer = ExportWriter(out, columns=("pseudonym",), fmt="csv", letters=False)
    writer.quarantine(pseudonym, [{"category": "bereavement", "field": "salutation"}])
    files = writer.close_files()
    writer.commit(
        {
            "campaign": campaign,
            "finished_at": "2026-12-01T10:00:00+00:00",
            "files": files,
            "counts": {
                "selected": 3,
                "exported": 2,
                "quarantined": 1,
                "quarantined_by_reason": {"bereavement": 1},
            },
        }
    )
    return out


def test_dashboard_shows_chain_chart_denials_review_and_campaigns(console: Console) -> None:
    flagged = _customer(console, "D-1", full_name=FLAGGED_NAME)
    assert flagged["under_review"] is True
    console.api("GET", "/customers/D-1", "bob", "service")  # a denial
    _quarantine(console, "spring", flagged["pseudonym"])
    console.sign_in("cora")
    head = console.events()[-1]["seq"]
    r = console.client.get("/console/dashboard")
    assert r.status_code == 200, r.text
    page = r.text
    assert re.search(r"Head</dt><dd>event \d+", page)
    assert "Latest signed checkpoint" in page and "Witness file" in page
    assert "Denials, last 7 days: " in page and "outside owned accounts" in page
    assert "Customers under review: 1" in page
    assert "spring" in page and "bereavement: 1" in page
    assert FLAGGED_NAME not in page  # the flagged text never shows
    chart = console.client.get("/console/charts/events-per-day.png")
    assert chart.status_code == 200 and chart.headers["content-type"] == "image/png"
    assert chart.content.startswith(b"\x89PNG")
    views = [e for e in console.events(subject="cora") if e["seq"] > head]
    assert {e["resource"] for e in views} >= {"audit", "customer"}
    verify = console.post_form("/console/dashboard/verify", {}, csrf_from="/console/dashboard")
    assert verify.status_code == 303
    again = console.client.get("/console/dashboard").text
    assert "verified</span> up to event" in again


@pytest.mark.parametrize(
    ("subject", "path"),
    [
        ("dana", "/console/dashboard"),
        ("dana", "/console/audit"),
        ("ana", "/console/review"),
        ("adm", "/console/people/X-1"),
        ("cora", "/console/requests"),
        ("ana", "/console/requests"),
    ],
)
def test_wrong_role_gets_a_403_page_and_an_audited_denial(console: Console, subject: str, path: str) -> None:
    _customer(console, "X-1")
    console.sign_in(subject)
    before = console.events()[-1]["seq"]
    r = console.client.get(path)
    assert r.status_code == 403, r.text
    assert "Not allowed" in r.text and "recorded in the audit log" in r.text
    denied = [e for e in console.events(subject=subject, decision="deny") if e["seq"] > before]
    assert denied, "the refusal left no audit event"


def test_navigation_follows_the_role(console: Console) -> None:
    console.sign_in("dana")
    page = console.client.get("/console/requests").text
    assert ">Requests<" in page and ">Dashboard<" not in page and ">Audit explorer<" not in page
    assert console.client.get("/console/", follow_redirects=False).headers["location"] == "/console/requests"


def test_audit_explorer_pages_newest_first_with_filters(console: Console) -> None:
    _customer(console, "P-1")
    for _ in range(60):
        console.api("GET", "/customers/P-1", "alice", "service")
    for _ in range(3):
        console.api("GET", "/customers/P-1", "bob", "service")
    console.sign_in("cora")
    first = console.client.get("/console/audit", params={"subject": "alice"})
    assert first.status_code == 200
    seqs = [int(s) for s in re.findall(r'<a href="/console/audit/events/(\d+)">', first.text)]
    assert len(seqs) == 50 and seqs == sorted(seqs, reverse=True)
    nxt = re.search(r'rel="next" href="([^"]+)"', first.text)
    assert nxt
    second = console.client.get(nxt.group(1).replace("&amp;", "&"))
    more = [int(s) for s in re.findall(r'<a href="/console/audit/events/(\d+)">', second.text)]
    assert more and max(more) < min(seqs) and len(more) == 11  # 61 alice events: 1 create + 60 reads
    assert 'rel="next"' not in second.text
    denied = console.client.get("/console/audit", params={"customer": "P-1", "decision": "deny"}).text
    rows = re.findall(r'<tr class="deny">', denied)
    assert len(rows) == 3
    nothing = console.client.get("/console/audit", params={"customer": "NOPE-1"}).text
    assert "No events match." in nothing
    views = [
        e
        for e in console.events(subject="cora", resource="audit")
        if e["detail"].get("view") == "console_audit"
    ]
    assert len(views) == 4
    assert all("P-1" not in json.dumps(e) for e in views)  # filter values never go into the log


def test_event_page_shows_the_full_record(console: Console) -> None:
    _customer(console, "E-1")
    seq = console.events(subject="alice")[-1]["seq"]
    console.sign_in("cora")
    page = console.client.get(f"/console/audit/events/{seq}").text
    for key in ("prev_hash", "hash", "record_refs", "request_id", "detail"):
        assert f"<dt>{key}</dt>" in page
    assert console.client.get("/console/audit/events/999999").status_code == 404


def test_csv_download_matches_the_filter_and_is_audited(console: Console) -> None:
    _customer(console, "C-1")
    for _ in range(5):
        console.api("GET", "/customers/C-1", "bob", "service")
    console.sign_in("cora")
    r = console.client.get("/console/audit/export.csv", params={"subject": "bob", "decision": "deny"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == 5 and all(row["subject"] == "bob" and row["decision"] == "deny" for row in rows)
    exports = [e for e in console.events(subject="cora", action="export") if e["resource"] == "audit"]
    assert len(exports) == 1 and exports[0]["row_count"] == 5


def test_person_view_masks_and_shows_history_and_who_looked(console: Console) -> None:
    _customer(
        console, "M-1", full_name="Marjorie Quill", email="mq@example.com", consent_marketing_email=True
    )
    console.api("PUT", "/customers/M-1/consents", "alice", "service", json={"marketing_email": False})
    console.sign_in("cora")
    page = console.client.get("/console/people/M-1").text
    assert "Marjorie Quill" not in page and "mq@example.com" not in page  # partial masks for compliance
    assert "Who saw this person" in page and "<strong>alice</strong>" in page
    assert page.count("marketing_email") >= 2  # consent history: granted, then withdrawn
    assert "Resolve the review" not in page  # not under review
    assert (
        console.client.get("/console/people", params={"external_id": "M-1"}, follow_redirects=False).headers[
            "location"
        ]
        == "/console/people/M-1"
    )
    assert console.client.get("/console/people/NOPE").status_code == 404


def test_review_queue_resolution_is_audited_and_takes_effect(console: Console) -> None:
    flagged = _customer(console, "R-1", full_name=FLAGGED_NAME)
    _quarantine(console, "autumn", flagged["pseudonym"])
    console.sign_in("cora")
    queue = console.client.get("/console/review").text
    assert "Customers under review: 1" in queue and "/console/people/R-1" in queue
    assert "bereavement in salutation" in queue and FLAGGED_NAME not in queue
    found = console.client.get(f"/console/review/pseudonyms/{flagged['pseudonym']}", follow_redirects=False)
    assert found.status_code == 303 and found.headers["location"] == "/console/people/R-1"
    person = console.client.get("/console/people/R-1").text
    assert "Resolve the review" in person
    bad = console.post_form(
        "/console/people/R-1/review",
        {"decision": "clear", "reason_code": "false_positive", "reason": "call her on 07700 900123 first"},
        csrf_from="/console/people/R-1",
    )
    assert bad.status_code == 422 and "numbers" in bad.text
    kept = console.post_form(
        "/console/people/R-1/review",
        {"decision": "keep", "reason_code": "awaiting_information", "reason": "Asked the owner for context"},
        csrf_from="/console/people/R-1",
    )
    assert kept.status_code == 303
    ok = console.post_form(
        "/console/people/R-1/review",
        {
            "decision": "clear",
            "reason_code": "false_positive",
            "reason": "The name field holds a company slogan",
        },
        csrf_from="/console/people/R-1",
    )
    assert ok.status_code == 303
    after = console.api("GET", "/customers/R-1", "alice", "service").json()
    assert after["suppression"]["under_review"] is False
    decisions = console.events(subject="cora", resource="customer", action="review")
    assert [e["detail"]["operation"] for e in decisions] == ["review_kept", "review_cleared"]
    assert all(e["fields"] == ["suppression"] and e["decision"] == "allow" for e in decisions)
    reason = decisions[-1]["detail"]
    assert (
        reason["reason_code"] == "false_positive"
        and reason["reason"] == "The name field holds a company slogan"
    )
    assert not console.events(subject="cora", action="write")  # a review decision is not a write
    assert "Customers under review: 0" in console.client.get("/console/review").text
    again = console.post_form(
        "/console/people/R-1/review",
        {"decision": "clear", "reason_code": "false_positive", "reason": "The name field holds a slogan"},
        csrf_from="/console/people/R-1",
    )
    assert again.status_code == 409  # not under review any more: nothing to decide


def test_flags_are_set_and_audited(console: Console) -> None:
    _customer(console, "F-1")
    console.sign_in("cora")
    form = {
        "flag": "deceased",
        "reason_code": "death_notified",
        "reason": "Family wrote to tell us of the death",  # the flag's own category may be named
        "confirm": "yes",
    }
    r = console.post_form("/console/people/F-1/flags", form, csrf_from="/console/people/F-1")
    assert r.status_code == 303, r.text
    assert console.api("GET", "/customers/F-1", "alice", "service").json()["suppression"]["deceased"] is True
    no = console.post_form(
        "/console/people/F-1/flags", {**form, "confirm": ""}, csrf_from="/console/people/F-1"
    )
    assert no.status_code == 422
    twice = console.post_form("/console/people/F-1/flags", form, csrf_from="/console/people/F-1")
    assert twice.status_code == 409 and "already marked deceased" in twice.text
    health = console.post_form(
        "/console/people/F-1/flags",
        {**form, "flag": "do_not_contact", "reason_code": "customer_objected", "reason": "Died of cancer"},
        csrf_from="/console/people/F-1",
    )
    assert health.status_code == 422 and "sensitive" in health.text  # only what the flag itself says
    dnc = console.post_form(
        "/console/people/F-1/flags",
        {**form, "flag": "do_not_contact", "reason_code": "customer_objected", "reason": "Asked in writing"},
        csrf_from="/console/people/F-1",
    )
    assert dnc.status_code == 303
    decided = console.events(subject="cora", action="review", resource="customer")
    assert [e["detail"]["operation"] for e in decided] == ["deceased_set", "do_not_contact_set"]
    assert all(e["fields"] == ["suppression"] for e in decided)
    assert not console.events(subject="cora", action="write")


def test_dpo_exports_and_erases_with_confirmation_and_receipt(console: Console) -> None:
    _customer(console, "Q-1", email="q1@example.com")
    console.sign_in("dana")
    assert console.client.get("/console/requests").status_code == 200
    r = console.post_form("/console/requests/export", {"external_id": "Q-1"}, csrf_from="/console/requests")
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    doc = r.json()
    assert doc["external_id"] == "Q-1" and doc["customer"]["email"] == "q1@example.com"
    wrong = console.post_form(
        "/console/requests/erase", {"external_id": "Q-1", "confirm": "Q-2"}, csrf_from="/console/requests"
    )
    assert wrong.status_code == 422 and "confirm" in wrong.text
    done = console.post_form(
        "/console/requests/erase", {"external_id": "Q-1", "confirm": "Q-1"}, csrf_from="/console/requests"
    )
    assert done.status_code == 200 and "Erasure receipt" in done.text
    seq = int(re.search(r"/console/requests/receipts/(\d+)\.json", done.text).group(1))  # type: ignore[union-attr]
    receipt = console.client.get(f"/console/requests/receipts/{seq}.json")
    assert receipt.status_code == 200 and receipt.json()["external_id"] == "Q-1"
    assert [e for e in console.events(subject="dana", action="erase") if e["seq"] == seq]
    assert console.api("GET", "/customers/Q-1", "alice", "service").status_code in (404, 410)
    cora = console.new_client()
    token = re.search(r'name="csrf" value="([^"]+)"', cora.get("/console/sign-in").text).group(1)  # type: ignore[union-attr]
    cora.post("/console/sign-in", data={"api_key": console.tokens["cora"], "csrf": token})
    erased = cora.get("/console/people/Q-1")
    assert (
        erased.status_code == 200 and "was erased" in erased.text and "<strong>dana</strong>" in erased.text
    )


def test_policy_page_and_admin_reload(console: Console) -> None:
    console.sign_in("cora")
    page = console.client.get("/console/policy").text
    assert console.hush.policies.policy_hash in page
    assert "Reload the policy files" not in page
    r = console.post_form("/console/policy/reload", {})
    assert r.status_code == 403
    assert console.events(subject="cora", resource="admin", decision="deny")
    admin = console.new_client()
    token = re.search(r'name="csrf" value="([^"]+)"', admin.get("/console/sign-in").text).group(1)  # type: ignore[union-attr]
    admin.post("/console/sign-in", data={"api_key": console.tokens["adm"], "csrf": token})
    page = admin.get("/console/policy").text
    assert "Reload the policy files" in page
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    done = admin.post("/console/policy/reload", data={"csrf": csrf}, follow_redirects=False)
    assert done.status_code == 303
    assert console.events(subject="adm", action="policy_reload", decision="allow")


def test_api_docs_work_offline(console: Console) -> None:
    page = console.client.get("/docs").text
    assert "/docs-static/swagger-ui-bundle.js" in page and "cdn.jsdelivr" not in page and "unpkg" not in page
    assert console.client.get("/docs-static/swagger-ui-bundle.js").status_code == 200
    assert console.client.get("/docs-static/swagger-ui.css").status_code == 200
    redoc = console.client.get("/redoc").text
    assert "/docs-static/redoc.standalone.js" in redoc and "fonts.googleapis" not in redoc
    assert console.client.get("/openapi.json").status_code == 200


def _profile_run(console: Console, kind: str, summary: dict[str, Any], scores: list[float]) -> None:
    import datetime as dt
    import uuid

    from core.profiling.results import profile_results_t, profile_runs_t

    run_id = str(uuid.uuid4())
    with console.hush.engine.begin() as conn:
        conn.execute(
            profile_runs_t.insert().values(
                id=run_id,
                kind=kind,
                subject="ana",
                purpose="profiling",
                created_at=dt.datetime.now(dt.UTC),
                as_of=None,
                parameters="{}",
                code_version="test",
                row_count=len(scores),
                left_out=1,
                summary=json.dumps(summary),
                audit_seq=None,
            )
        )
        for i, score in enumerate(scores):
            conn.execute(
                profile_results_t.insert().values(
                    run_id=run_id, pseudonym=f"p_{i:032x}", label=None, score=score, data="{}"
                )
            )


def test_analyst_sees_profiling_only_as_aggregates(console: Console) -> None:
    _profile_run(console, "rfm", {"segments": {"Champions": 3, "Lost": 2}}, [1.0] * 5)
    _profile_run(
        console,
        "churn",
        {"scored": 4, "flagged": 1, "bgnbd": {"r": 0.2, "alpha": 4.1, "a": 0.6, "b": 2.0}},
        [0.1, 0.5, 0.7, 0.9],
    )
    _profile_run(
        console, "clv", {"usable": False, "reason": "BG/NBD a ended on its lower bound"}, [10.0, 20.0]
    )
    console.sign_in("ana")
    assert console.client.get("/console/", follow_redirects=False).headers["location"] == "/console/profiling"
    page = console.client.get("/console/profiling").text
    nav = page[page.index('<nav aria-label="Console">') : page.index("</nav>")]
    assert ">Profiling<" in nav and ">Dashboard<" not in nav and ">Policy<" not in nav
    assert "Champions" in page and "1 of 4 customers flagged" in page
    assert "Not usable:" in page and "lower bound" in page
    assert "p_0000" not in page  # pseudonymous results never listed
    for chart in ("segments", "clv", "churn"):
        r = console.client.get(f"/console/charts/profiling-{chart}.png")
        assert r.status_code == 200 and r.content.startswith(b"\x89PNG"), chart
    views = [e for e in console.events(subject="ana", resource="profile") if e["decision"] == "allow"]
    assert len(views) >= 4
    assert console.client.get("/console/dashboard").status_code == 403


def test_compliance_officer_cannot_open_profiling(console: Console) -> None:
    console.sign_in("cora")
    assert console.client.get("/console/profiling").status_code == 403
    assert console.events(subject="cora", resource="profile", decision="deny")


def test_dashboard_on_a_large_log_shows_aggregates_when_ready(console: Console) -> None:
    aggregates = console.app.state.console.audit.aggregates
    aggregates.sync_limit = 0  # every window counts as large here
    _customer(console, "G-1")
    for _ in range(25):
        console.api("GET", "/customers/G-1", "bob", "service")
    console.sign_in("cora")
    first = console.client.get("/console/dashboard").text
    assert "Being computed over a large log" in first and "being counted" in first
    aggregates.wait()
    ready = console.client.get("/console/dashboard").text
    assert "Being computed" not in ready and "Denials, last 7 days: 25" in ready
    assert "denial_burst" in ready or "not_owned" in ready  # bob's probes


def _campaign(console: Console, name: str) -> dict[str, Any]:
    # external_id only: the stored analysis of the flagged name travels with the customer's free-text
    # fields (the outbound gate withholds letters that merge them), which is the gate's business.
    body = {"campaign": name, "fields": ["external_id"], "channel": "post"}
    r = console.api("POST", "/exports/mailmerge", "mailer", "marketing", json=body)
    assert r.status_code == 202, r.text
    console.app.state.services.jobs.wait()
    done = console.api("GET", f"/exports/{r.json()['job_id']}", "mailer", "marketing").json()
    assert done["status"] == "succeeded", done
    counts: dict[str, Any] = done["manifest"]["counts"]
    return counts


def _import(console: Console, tmp_path: Path, rows: str) -> None:
    """Customers imported from a CSV file as alice (the import path of ``hushdb customers import``)."""
    from core.csv_import import customer_rows

    path = tmp_path / "customers.csv"
    path.write_text("external_id,full_name,postal_address,consent_marketing_post\n" + rows, encoding="utf-8")
    ctx = console.hush.context("alice", "service")
    report = console.hush.writes.import_customers(ctx, customer_rows(path, default_owner="alice"))
    assert not report.rejected, report.rejected


def test_flagged_at_import_resolved_in_the_console_then_served_by_the_next_campaign(
    console: Console, tmp_path: Path
) -> None:
    _import(
        console,
        tmp_path,
        f"J-1,{FLAGGED_NAME},1 Quay Street Hull,true\nJ-2,{FLAGGED_NAME},2 Quay Street Hull,true\n",
    )
    before = _campaign(console, "before")
    assert before["exported"] == 0 and before["suppressed"]["under_review"] == 2, before
    console.sign_in("cora")
    queue = console.client.get("/console/review").text
    assert "Customers under review: 2" in queue and "Resolve J-1" in queue and "Resolve J-2" in queue
    r = console.post_form(
        "/console/people/J-1/review",
        {
            "decision": "clear",
            "reason_code": "reviewed_ok",
            "reason": "Broker list artefact, checked with the owner",
            "back": "queue",
        },
        csrf_from="/console/review",
    )
    assert r.status_code == 303 and r.headers["location"] == "/console/review?done=review-cleared"
    r = console.post_form(
        "/console/people/J-2/review",
        {
            "decision": "deceased",
            "reason_code": "death_registered",
            "reason": "Registry check",
            "back": "queue",
        },
        csrf_from="/console/review",
    )
    assert r.status_code == 303
    queue = console.client.get(r.headers["location"]).text
    assert "Customers under review: 0" in queue and "marked deceased and left the queue" in queue
    after = _campaign(console, "after")
    assert after["exported"] == 1 and after["suppressed"]["deceased"] == 1, after
    ops = [e["detail"]["operation"] for e in console.events(subject="cora", action="review")]
    assert ops == ["review_cleared", "deceased_set"]
