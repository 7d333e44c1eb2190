"""The mail-merge service on both databases: selection, refusals, the gate, the manifest, the audit."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import pytest

from api.wiring import Hush
from audit.queries import events
from core.errors import AccessDenied, ConflictError, InputError
from core.export import MailmergeRequest, MailmergeService
from core.export.gate import FOREIGN_IDENTIFIER, STORED_ANALYSIS

from .conftest import add_customers, customer, pseudonym_of, read_jsonl, set_review

TEMPLATE = "{{ salutation }},\n\nNew in {{ city }} this winter.\n\nThe Hush Store\n"


def request(**kw: object) -> MailmergeRequest:
    base: dict[str, object] = {
        "campaign": "winter",
        "fields": ("salutation", "city", "email"),
        "template": TEMPLATE,
        "channel": "email",
    }
    base.update(kw)
    return MailmergeRequest(**base)  # type: ignore[arg-type]


def recipients(out: Path) -> set[str]:
    with (out / "recipients.csv").open(encoding="utf-8", newline="") as fh:
        return {row["pseudonym"] for row in csv.DictReader(fh)}


# ext id, customer flags, reason for channel email, reason for channel post ("selected" = receives it)
MATRIX = [
    ("C_BOTH", {}, "selected", "selected"),
    ("C_EMAIL", {"consent_marketing_post": False}, "selected", "no_consent"),
    ("C_POST", {"consent_marketing_email": False}, "no_consent", "selected"),
    ("C_NONE", {"consent_marketing_email": None, "consent_marketing_post": None}, "no_consent", "no_consent"),
    ("C_DNC", {"do_not_contact": True}, "do_not_contact", "do_not_contact"),
    ("C_DEAD", {"deceased": True}, "deceased", "deceased"),
    ("C_DEAD_DNC", {"deceased": True, "do_not_contact": True}, "deceased", "deceased"),  # first reason wins
    ("C_REVIEW", {}, "under_review", "under_review"),
    ("C_ERASED", {}, "erased", "erased"),
]


@pytest.mark.parametrize("channel", ["email", "post"])
def test_consent_and_suppression_matrix(
    store: Hush, service: MailmergeService, tmp_path: Path, channel: str
) -> None:
    add_customers(store, [customer(ext, **flags) for ext, flags, _, _ in MATRIX])
    set_review(store, "C_REVIEW", True)
    pseudonyms = {ext: pseudonym_of(store, ext) for ext, *_ in MATRIX}
    store.writes.erase(store.context("dana", "erasure"), "C_ERASED")
    col = 2 if channel == "email" else 3
    expected = {pseudonyms[row[0]] for row in MATRIX if row[col] == "selected"}

    manifest = service.run(store.context("mailer", "marketing"), request(channel=channel), tmp_path / "out")

    assert recipients(tmp_path / "out") == expected
    assert manifest.selected == manifest.exported == len(expected)
    for reason in ("no_consent", "do_not_contact", "deceased", "under_review", "erased"):
        assert manifest.suppressed[reason] == sum(1 for row in MATRIX if row[col] == reason), reason
    written = {p.stem for p in (tmp_path / "out" / "letters").iterdir()}
    assert written == expected


def _no_output(tmp_path: Path) -> None:
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out") or p.name == "out"] == []


def test_forbidden_field_fails_before_any_output_and_is_audited(
    store: Hush, service: MailmergeService, tmp_path: Path
) -> None:
    add_customers(store, [customer("C1")])
    with pytest.raises(AccessDenied, match="phone"):
        service.run(
            store.context("mailer", "marketing"), request(fields=("full_name", "phone")), tmp_path / "out"
        )
    _no_output(tmp_path)
    with store.engine.connect() as conn:
        denied = events(conn, subject="mailer", denied_only=True)
    assert denied and "phone" in denied[-1]["fields"]


def test_template_field_not_in_fields_names_the_line(
    store: Hush, service: MailmergeService, tmp_path: Path
) -> None:
    source = "Dear {{ first_name }},\n\nWe will write to {{ postal_address }}.\n"
    with pytest.raises(InputError, match="template line 3 uses postal_address, which is not in --fields"):
        service.run(
            store.context("mailer", "marketing"),
            request(fields=("first_name",), template=source),
            tmp_path / "out",
        )
    _no_output(tmp_path)


def test_template_using_a_forbidden_field_names_the_line_and_is_audited(
    store: Hush, service: MailmergeService, tmp_path: Path
) -> None:
    source = "Dear {{ first_name }},\nHappy birthday on\n{{ birth_date }}!\n"
    with pytest.raises(AccessDenied, match="template line 3 uses birth_date"):
        service.run(
            store.context("mailer", "marketing"),
            request(fields=("first_name",), template=source),
            tmp_path / "out",
        )
    _no_output(tmp_path)
    with store.engine.connect() as conn:
        assert "birth_date" in events(conn, subject="mailer", denied_only=True)[-1]["fields"]


def test_sensitive_template_is_refused(store: Hush, service: MailmergeService, tmp_path: Path) -> None:
    source = "Dear {{ first_name }},\nWe are sorry your husband died in a car accident.\n"
    with pytest.raises(InputError, match="template line 2 carries sensitive content"):
        service.run(
            store.context("mailer", "marketing"),
            request(fields=("first_name",), template=source),
            tmp_path / "out",
        )
    _no_output(tmp_path)


def test_purpose_must_be_marketing(store: Hush, service: MailmergeService, tmp_path: Path) -> None:
    with pytest.raises(AccessDenied, match="marketing"):
        service.run(store.context("alice", "service"), request(), tmp_path / "out")
    _no_output(tmp_path)


def test_letter_merging_another_customers_phone_is_quarantined(
    store: Hush, service: MailmergeService, tmp_path: Path
) -> None:
    add_customers(
        store,
        [
            customer("C_OWNER", phone="+44 7700 900123"),
            customer("C_MERGER", postal_address="12 King Street, Leeds LS1 4AP (ring 07700 900123)"),
        ],
    )
    out = tmp_path / "out"
    fields = ("full_name", "postal_address")
    source = "{{ full_name }}\n{{ postal_address }}\n\nOur winter sale starts now.\n"
    manifest = service.run(store.context("mailer", "marketing"), request(fields=fields, template=source), out)

    merger = pseudonym_of(store, "C_MERGER")
    assert manifest.quarantined == {FOREIGN_IDENTIFIER: 1}
    assert read_jsonl(out / "quarantine.jsonl") == [
        {"pseudonym": merger, "reasons": [{"category": FOREIGN_IDENTIFIER, "field": "postal_address"}]}
    ]
    assert not (out / "letters" / f"{merger}.txt").exists()
    assert recipients(out) == {pseudonym_of(store, "C_OWNER")}
    assert "900123" not in (out / "quarantine.jsonl").read_text()


def test_flag_cleared_by_mistake_still_quarantined(
    store: Hush, service: MailmergeService, tmp_path: Path
) -> None:
    """The broker list's name line: screened on import; a reviewer clears the flag; the gate still stops it."""
    add_customers(store, [customer("BRK001", full_name="Daughter Killed in Car Crash"), customer("C_OK")])
    store.writes.clear_review(store.context("alice", "service"), "BRK001")
    out = tmp_path / "out"
    manifest = service.run(store.context("mailer", "marketing"), request(channel="post"), out)

    broker = pseudonym_of(store, "BRK001")
    [entry] = read_jsonl(out / "quarantine.jsonl")
    assert entry["pseudonym"] == broker
    categories = {r["category"] for r in entry["reasons"]}
    assert {"bereavement", "accident"} <= categories
    if store.gateway.store.screen is not None:  # screened on write: the stored analysis says so too
        assert STORED_ANALYSIS in categories
    assert manifest.exported == 1
    for path in out.rglob("*"):
        if path.is_file():
            assert "Killed" not in path.read_text(encoding="utf-8")


def test_manifest_hashes_and_audit_range(store: Hush, service: MailmergeService, tmp_path: Path) -> None:
    add_customers(store, [customer(f"C{i}") for i in range(5)])
    out = tmp_path / "out"
    manifest = service.run(store.context("mailer", "marketing"), request(), out)

    doc = json.loads((out / "manifest.json").read_text())
    assert doc["counts"]["selected"] == 5 and doc["counts"]["exported"] == 5
    assert doc["subject"] == "mailer" and doc["campaign"] == "winter"
    for name, digest in doc["files"].items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest
    lines = (out / "letters.sha256").read_text().splitlines()
    assert len(lines) == 5
    for line in lines:
        digest, name = line.split("  ")
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest
    with store.engine.connect() as conn:
        seen = events(conn, after_seq=manifest.audit["first_seq"] - 1)
    assert seen[0]["seq"] == manifest.audit["first_seq"]
    assert seen[-1]["seq"] == manifest.audit["last_seq"]
    export = [e for e in seen if e["action"] == "export"]
    assert len(export) == 1 and export[0]["detail"]["campaign"] == "winter"
    assert export[0]["detail"]["sha256:recipients.csv"] == doc["files"]["recipients.csv"]
    reads = [e for e in seen if e["action"] == "read" and e["subject"] == "mailer"]
    assert sum(e["row_count"] for e in reads) == 5


def test_jsonl_without_template_checks_rows(store: Hush, service: MailmergeService, tmp_path: Path) -> None:
    add_customers(store, [customer("C1"), customer("C2", postal_address="12 King Street, funeral on Monday")])
    store.writes.clear_review(store.context("alice", "service"), "C2")  # flagged on import; cleared
    out = tmp_path / "out"
    manifest = service.run(
        store.context("mailer", "marketing"),
        request(template=None, format="jsonl", fields=("first_name", "postal_address")),
        out,
    )
    rows = read_jsonl(out / "recipients.jsonl")
    assert [r["first_name"] for r in rows] == ["Ann"]
    assert not (out / "letters").exists()
    assert manifest.exported == 1 and manifest.selected == 2


def test_existing_output_directory_is_refused(store: Hush, service: MailmergeService, tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    with pytest.raises(ConflictError):
        service.run(store.context("mailer", "marketing"), request(), tmp_path / "out")
