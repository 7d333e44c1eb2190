"""Notes: analysed once on write, stored encrypted, masked per policy, re-analysed when stale."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from api.cli import app
from api.wiring import Hush
from core.config import Settings
from core.errors import AccessDenied, PayloadTooLargeError
from core.models import customers_t, notes_t
from core.records import CustomerInput

BEREAVEMENT = "Her husband died in a car accident last month; do not chase the invoice."
OTHER_EMAIL = "quentin.otherperson@example.net"


def seed(hush: Hush) -> None:
    alice = hush.context("alice", "service")
    hush.writes.create(
        alice,
        CustomerInput(external_id="N1", full_name="Rose Tyler", owner="alice", email="rose@example.com"),
    )
    hush.writes.create(
        alice,
        CustomerInput(external_id="N2", full_name="Quentin Otherperson", owner="alice", email=OTHER_EMAIL),
    )


def under_review(hush: Hush, ext: str) -> bool:
    with hush.engine.connect() as conn:
        return bool(
            conn.execute(
                sa.select(customers_t.c.under_review).where(customers_t.c.external_id == ext)
            ).scalar_one()
        )


def test_sensitive_note_is_labelled_and_puts_customer_under_review(hush: Hush) -> None:
    seed(hush)
    assert not under_review(hush, "N1")
    receipt = hush.notes.add(hush.context("alice", "service"), "N1", BEREAVEMENT)
    assert receipt.sensitivity == "sensitive"
    assert {"bereavement", "accident"} <= set(receipt.labels)
    assert all(set(f) == {"type", "category", "start", "end"} for f in receipt.findings)
    assert "husband" not in json.dumps(receipt.to_dict())  # offsets, never values
    assert under_review(hush, "N1")
    hush.writes.clear_review(hush.context("alice", "service"), "N1")
    assert not under_review(hush, "N1")


def test_harmless_note_leaves_customer_alone(hush: Hush) -> None:
    seed(hush)
    receipt = hush.notes.add(
        hush.context("alice", "service"), "N1", "Wants the winter catalogue and asked about bulk pricing."
    )
    assert receipt.sensitivity == "none"
    assert not under_review(hush, "N1")


def test_record_aware_detection_finds_another_customers_email(hush: Hush) -> None:
    seed(hush)
    text = f"Her cousin can be reached at {OTHER_EMAIL}."
    receipt = hush.notes.add(hush.context("alice", "service"), "N1", text)
    spans = [(f["start"], f["end"]) for f in receipt.findings]
    start = text.index(OTHER_EMAIL)
    assert any(s <= start and e >= start + len(OTHER_EMAIL) for s, e in spans)


def test_note_body_encrypted_and_masked_per_role(hush: Hush) -> None:
    seed(hush)
    hush.notes.add(hush.context("alice", "service"), "N1", BEREAVEMENT)
    with hush.engine.connect() as conn:
        row = conn.execute(sa.select(notes_t)).one()
    assert b"husband" not in bytes(row.body_ct) and b"husband" not in bytes(row.analysis_ct)
    own = hush.gateway.read_notes(hush.context("alice", "service"), "N1")
    assert own[0].values["body"] == BEREAVEMENT
    compliance = hush.gateway.read_notes(hush.context("cora", "compliance"), "N1")
    assert compliance[0].values["body"] is None
    assert "bereavement" in compliance[0].values["labels"]
    with pytest.raises(AccessDenied):
        hush.gateway.read_notes(hush.context("mailer", "marketing"), "N1")


def test_note_over_the_size_limit_is_refused(hush: Hush, settings: Settings) -> None:
    seed(hush)
    with pytest.raises(PayloadTooLargeError):
        hush.notes.add(hush.context("alice", "service"), "N1", "x" * (settings.note_max_bytes + 1))


def test_stale_analysis_is_redone_on_read(hush: Hush) -> None:
    seed(hush)
    hush.notes.add(hush.context("alice", "service"), "N1", BEREAVEMENT)
    with hush.engine.begin() as conn:
        conn.execute(sa.update(notes_t).values(analyser_version="hushdb-pii/0.0.1"))
    hush.gateway.read_notes(hush.context("alice", "service"), "N1")
    with hush.engine.connect() as conn:
        version = conn.execute(sa.select(notes_t.c.analyser_version)).scalar_one()
    assert version == hush.gateway.note_text.version if hush.gateway.note_text else False


def test_broker_list_name_line_is_flagged_at_import(hush: Hush) -> None:
    hush.writes.create(
        hush.context("alice", "service"),
        CustomerInput(
            external_id="BRK1",
            full_name="Daughter Killed in Car Crash",
            owner="alice",
            consent_marketing_post=True,
        ),
    )
    assert under_review(hush, "BRK1")
    with hush.engine.connect() as conn:
        assert conn.execute(sa.select(customers_t.c.text_sensitivity)).scalar_one() == "sensitive"


runner = CliRunner()


def test_notes_cli(tmp_path: Path, database_url: str) -> None:
    env = {"HUSHDB_DATABASE_URL": database_url}
    d = str(tmp_path / "home")
    assert runner.invoke(app, ["init", "--data-dir", d], env=env).exit_code == 0
    customers = tmp_path / "c.csv"
    customers.write_text("external_id,full_name\nZ1,Amy Pond\n")
    assert (
        runner.invoke(
            app, ["customers", "import", str(customers), "--as", "alice", "--data-dir", d], env=env
        ).exit_code
        == 0
    )
    result = runner.invoke(
        app,
        ["notes", "add", "Z1", "--as", "alice", "--text", BEREAVEMENT, "--json", "--data-dir", d],
        env=env,
    )
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert set(doc) == {"note_id", "sensitivity", "labels", "findings"} and doc["sensitivity"] == "sensitive"
    result = runner.invoke(
        app,
        ["notes", "add", "Z1", "--as", "alice", "--stdin", "--data-dir", d],
        env=env,
        input=b"\xff\xfe bad",
    )
    assert result.exit_code == 2 and "UTF-8" in result.stderr
    notes = tmp_path / "n.csv"
    notes.write_text(
        "external_id,author,created_at,text\n"
        "Z1,alice,2025-03-01,Asked about bulk pricing.\n"
        "Z9,alice,2025-03-01,Unknown customer.\n"  # line 3
        "Z1,alice,not-a-date,Bad date.\n"  # line 4
    )
    result = runner.invoke(app, ["notes", "import", str(notes), "--as", "alice", "--data-dir", d], env=env)
    assert result.exit_code == 3
    assert "imported 1 note, rejected 2" in result.stdout
    assert "line 3: customer not found" in result.stderr and "line 4" in result.stderr
    shown = runner.invoke(
        app,
        ["notes", "show", "Z1", "--as", "cora", "--purpose", "compliance", "--json", "--data-dir", d],
        env=env,
    )
    assert shown.exit_code == 0, shown.stderr
    docs = json.loads(shown.stdout)
    assert len(docs) == 2 and all(n["body"] is None for n in docs)


def test_refused_writer_triggers_no_analysis(hush: Hush) -> None:
    seed(hush)
    calls: list[str] = []
    real = hush.notes._engine_factory

    def counting() -> object:
        calls.append("engine")
        return real()

    hush.notes._engine_factory = counting  # type: ignore[assignment]
    with pytest.raises(AccessDenied):
        hush.notes.add(hush.context("ana", "profiling"), "N1", BEREAVEMENT)  # analysts may not write notes
    from core.errors import NotFoundError

    with pytest.raises(NotFoundError):
        hush.notes.add(hush.context("bob", "service"), "N1", BEREAVEMENT)  # not bob's customer
    assert calls == []  # nothing was decrypted or analysed for them
