"""Mail-merge jobs: start, poll, download (audited); only the job's owner sees it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from http_tools import Api, make_api

from core.errors import InputError
from core.gateway import AccessContext


def wait_for(api: Api, job_id: str, subject: str = "mailer") -> dict[str, Any]:
    api.app.state.services.jobs.wait()
    r = api.get(f"/exports/{job_id}", subject, "marketing")
    assert r.status_code == 200, r.text
    doc: dict[str, Any] = r.json()
    assert doc["status"] in ("succeeded", "failed")
    return doc


def test_a_real_campaign_runs_and_its_files_download(api: Api) -> None:
    api.create_customer("alice", "M-1", postal_address="1 High Street, Leeds", consent_marketing_post=True)
    api.create_customer("alice", "M-2", postal_address="2 High Street, York")  # no consent: not selected
    body = {"campaign": "spring", "fields": ["full_name", "postal_address"], "channel": "post"}
    r = api.post("/exports/mailmerge", "mailer", "marketing", json=body)
    assert r.status_code == 202, r.text
    job = r.json()
    assert r.headers["location"] == f"/exports/{job['job_id']}"
    done = wait_for(api, job["job_id"])
    assert done["status"] == "succeeded", done
    assert done["manifest"]["counts"]["exported"] == 1 and "out_dir" not in done["manifest"]
    assert "recipients.csv" in done["files"]
    f = api.get(f"/exports/{job['job_id']}/files/recipients.csv", "mailer", "marketing")
    assert f.status_code == 200 and f.headers["content-type"].startswith("text/csv")
    assert "1 High Street, Leeds" in f.text and "York" not in f.text
    downloads = [e for e in api.audit_rows(subject="mailer") if e["detail"].get("operation") == "download"]
    assert len(downloads) == 1 and downloads[0]["request_id"] == f.headers["x-request-id"]


def test_refusals_come_at_once_and_are_audited(api: Api) -> None:
    body = {"campaign": "c", "fields": ["full_name"], "channel": "post"}
    assert api.post("/exports/mailmerge", "alice", "service", json=body).status_code == 403
    assert api.post("/exports/mailmerge", "alice", "marketing", json=body).status_code == 403
    r = api.post("/exports/mailmerge", "mailer", "marketing", json={**body, "fields": ["birth_date"]})
    assert r.status_code == 403 and "birth_date" in r.json()["detail"]
    assert len(api.audit_rows(denied_only=True)) >= 3
    r = api.post("/exports/mailmerge", "mailer", "marketing", json={**body, "fields": ["shoe_size"]})
    assert r.status_code == 422


# -- the job machinery with a fake service ------------------------------------------------


class FakeMailmerge:
    def __init__(self) -> None:
        self.runs: list[str] = []

    def check(self, ctx: AccessContext, request: Any) -> None:
        if request.campaign == "bad":
            raise InputError("bad campaign")

    def run(self, ctx: AccessContext, request: Any, out_dir: Path) -> dict[str, Any]:
        self.runs.append(ctx.request_id)
        if request.campaign == "boom":
            raise RuntimeError("Secret Name in an exception message")
        (out_dir / "letters").mkdir(parents=True)
        (out_dir / "recipients.csv").write_text("pseudonym\np_1\n")
        (out_dir / "letters" / "p_1.txt").write_text("Dear customer")
        (out_dir / "manifest.json").write_text(json.dumps({"campaign": request.campaign}))
        return {"campaign": request.campaign, "out_dir": str(out_dir), "counts": {"exported": 1}}


@pytest.fixture
def fake(hush: Any) -> Iterator[tuple[Api, FakeMailmerge]]:
    runner = FakeMailmerge()
    a = make_api(hush, export_runner=runner)
    with a.client:
        yield a, runner


def start(api: Api, campaign: str, subject: str = "mailer") -> Any:
    return api.post(
        "/exports/mailmerge", subject, "marketing", json={"campaign": campaign, "fields": ["full_name"]}
    )


def test_job_lifecycle_with_a_fake_service(fake: tuple[Api, FakeMailmerge]) -> None:
    api, runner = fake
    r = start(api, "autumn")
    assert r.status_code == 202 and r.json()["status"] in ("queued", "running", "succeeded")
    job_id = r.json()["job_id"]
    done = wait_for(api, job_id)
    assert done["status"] == "succeeded"
    assert done["files"] == ["letters/p_1.txt", "manifest.json", "recipients.csv"]
    assert done["manifest"] == {"campaign": "autumn", "counts": {"exported": 1}}
    assert runner.runs == [r.headers["x-request-id"]]  # the job runs under the request's context
    letter = api.get(f"/exports/{job_id}/files/letters/p_1.txt", "mailer", "marketing")
    assert letter.status_code == 200 and letter.text == "Dear customer"


def test_only_the_owner_sees_a_job_and_only_listed_files(fake: tuple[Api, FakeMailmerge]) -> None:
    api, _ = fake
    job_id = start(api, "winter").json()["job_id"]
    wait_for(api, job_id)
    assert api.get(f"/exports/{job_id}", "cora", "compliance").status_code == 404
    assert api.get(f"/exports/{job_id}/files/recipients.csv", "dana", "erasure").status_code == 404
    assert api.get(f"/exports/{job_id}/files/recipients.csv", "mailer", "service").status_code == 404
    for name in ("../.jobs/" + job_id + ".json", "nope.csv", "letters/../recipients.csv/"):
        assert api.get(f"/exports/{job_id}/files/{name}", "mailer", "marketing").status_code in (404, 422)
    assert api.get("/exports/" + "0" * 32, "mailer", "marketing").status_code == 404


def test_failed_jobs_report_a_title_never_the_exception_text(fake: tuple[Api, FakeMailmerge]) -> None:
    api, _ = fake
    job_id = start(api, "boom").json()["job_id"]
    done = wait_for(api, job_id)
    assert done["status"] == "failed"
    assert done["error"] == {"status": 500, "title": "Internal error", "detail": None}
    assert "Secret" not in json.dumps(done) and done["files"] == []
    r = start(api, "bad")
    assert r.status_code == 422 and r.json()["detail"] == "bad campaign"
