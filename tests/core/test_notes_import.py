"""``hushdb notes import``: the author is the importer; a date is kept only for an importer who may backdate.

The stored author of every imported note is the importing subject.  An ``author`` column
naming someone else is kept as text at the end of the note (so it is analysed and masked
like the rest of the body) and never shown as the note's author.  ``created_at`` is kept
only when the policy lets the importer write a note's ``created_at``; otherwise the note
is dated now and the file's date is kept as text as well.  Record-aware detection reads
through the gateway as hushdb's ``system`` role.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from api.wiring import Hush, init_store, open_store
from audit import queries
from core.config import Settings, shipped_policy_dir
from core.csv_import import note_rows
from core.records import CustomerInput

OLD = "2019-03-04T05:06:07+00:00"


def seed(hush: Hush) -> None:
    alice = hush.context("alice", "service")
    hush.writes.create(alice, CustomerInput(external_id="I1", full_name="Rose Tyler", owner="alice"))
    hush.writes.create(
        hush.context("bob", "service"), CustomerInput(external_id="I2", full_name="Mickey Smith", owner="bob")
    )


def _detail(value: object) -> dict[str, object]:
    doc = json.loads(value) if isinstance(value, str) else value
    assert isinstance(doc, dict)
    return doc


def write_csv(path: Path, rows: list[str]) -> Path:
    path.write_text("external_id,author,created_at,text\n" + "".join(r + "\n" for r in rows))
    return path


def read_back(hush: Hush, external_id: str) -> list[dict[str, object]]:
    notes = hush.gateway.read_notes(hush.context("alice", "service"), external_id)
    return [dict(n.values) for n in notes]


def test_author_is_the_importer_and_claims_are_kept_as_text(hush: Hush, tmp_path: Path) -> None:
    seed(hush)
    f = write_csv(tmp_path / "n.csv", [f"I1,cora,{OLD},Asked for the spring catalogue."])
    report = hush.notes.import_notes(hush.context("alice", "service"), note_rows(f))
    assert report.imported == 1 and not report.rejected
    [note] = read_back(hush, "I1")
    assert note["author"] == "alice"  # never shown as written by cora
    body = str(note["body"])
    assert body.startswith("Asked for the spring catalogue.")
    assert "author in the file" in body and "date in the file: 2019-03-04" in body
    created = dt.datetime.fromisoformat(str(note["created_at"]))
    assert created.year >= 2025  # dated now: alice may not backdate under the shipped policy


def test_own_name_as_author_adds_nothing(hush: Hush, tmp_path: Path) -> None:
    seed(hush)
    f = write_csv(tmp_path / "n.csv", ["I1,alice,,Called back about the order."])
    hush.notes.import_notes(hush.context("alice", "service"), note_rows(f))
    [note] = read_back(hush, "I1")
    assert note["author"] == "alice" and note["body"] == "Called back about the order."


def _open_with_policy(settings: Settings, tmp_path: Path, edit: Callable[[str], str]) -> Hush:
    """The store opened with an edited copy of the shipped policy."""
    init_store(settings).close()
    policy_dir = tmp_path / "policy-edited"
    shutil.copytree(shipped_policy_dir(), policy_dir, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    policy = policy_dir / "policy.csv"
    policy.write_text(edit(policy.read_text()))
    return open_store(replace(settings, policy_dir=policy_dir))


@pytest.fixture
def backdating(settings: Settings, tmp_path: Path) -> Hush:
    """The store opened with a policy that lets sales backdate their own customers' notes."""
    return _open_with_policy(
        settings, tmp_path, lambda text: text + "p, sales, service, note, created_at, write, allow, -, own\n"
    )


def test_without_the_system_lines_record_aware_detection_is_refused_and_recorded(
    settings: Settings, tmp_path: Path
) -> None:
    hush = _open_with_policy(
        settings,
        tmp_path,
        lambda text: (
            "\n".join(line for line in text.splitlines() if not line.startswith("p, system,")) + "\n"
        ),
    )
    try:
        seed(hush)
        receipt = hush.notes.add(hush.context("alice", "service"), "I1", "Met Mickey Smith at the fair.")
        assert receipt.note_id  # the note is stored, analysed without record-aware detection
        with hush.engine.connect() as conn:
            rows = queries.events(conn, subject="hushdb", limit=1000)
        assert any(r["decision"] == "deny" and r["resource"] == "customer" for r in rows)
        assert not any(r["decision"] == "allow" and r["action"] == "read" for r in rows)
    finally:
        hush.close()


def test_date_is_kept_only_when_the_policy_allows_backdating(backdating: Hush, tmp_path: Path) -> None:
    hush = backdating
    try:
        seed(hush)
        f = write_csv(tmp_path / "n.csv", [f"I1,,{OLD},Renewal due."])
        hush.notes.import_notes(hush.context("alice", "service"), note_rows(f))
        [note] = read_back(hush, "I1")
        assert note["created_at"].startswith("2019-03-04")  # type: ignore[union-attr]
        assert note["body"] == "Renewal due."
        with hush.engine.connect() as conn:
            rows = queries.events(conn, subject="alice", limit=1000)
        details = [r["detail"] for r in rows if r["action"] == "write" and r["resource"] == "note"]
        assert details, rows
        assert all(_detail(d).get("dates_kept") is True for d in details), details
    finally:
        hush.close()


def test_rows_for_someone_elses_customer_are_rejected_and_recorded(hush: Hush, tmp_path: Path) -> None:
    seed(hush)
    f = write_csv(tmp_path / "n.csv", ["I1,,,Mine.", "I2,,,Not mine.", "NOPE,,,Nobody's."])
    report = hush.notes.import_notes(hush.context("alice", "service"), note_rows(f))
    assert report.imported == 1
    assert [(e.line, e.reason) for e in report.rejected] == [
        (3, "customer not found"),
        (4, "customer not found"),
    ]
    with hush.engine.connect() as conn:
        denials = queries.events(conn, subject="alice", denied_only=True, limit=1000)
    reasons = sorted(str(d["detail"]) for d in denials)
    assert any("outside owned accounts" in r for r in reasons)
    assert any("not found" in r for r in reasons)


def test_record_aware_detection_reads_through_the_gateway_as_system(hush: Hush) -> None:
    seed(hush)
    hush.notes.add(hush.context("alice", "service"), "I1", "Met Mickey Smith at the fair.")
    with hush.engine.connect() as conn:
        rows = queries.events(conn, subject="hushdb", limit=1000)
    reads = [r for r in rows if r["action"] == "read" and "record_aware_detection" in str(r["detail"])]
    assert reads and all(r["purpose"] == "data_quality" for r in reads)
    assert all("system" in str(r["roles"]) for r in reads)
