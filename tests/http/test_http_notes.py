"""Notes through the API: the receipt says what was found (types, offsets), never the matched text."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from http_tools import CANARY_NOTE, Api, make_api

from core.gateway import AccessContext


def test_note_receipt_has_types_and_offsets_but_no_values(api: Api) -> None:
    api.create_customer("alice", "N-1")
    r = api.post("/customers/N-1/notes", "alice", "service", json={"text": CANARY_NOTE})
    assert r.status_code == 201, r.text
    receipt = r.json()
    assert receipt["sensitivity"] == "sensitive"
    assert "health" in receipt["labels"]
    assert receipt["findings"] and all(
        set(f) <= {"type", "category", "start", "end"} for f in receipt["findings"]
    )
    spans = {CANARY_NOTE[f["start"] : f["end"]] for f in receipt["findings"]}
    assert any("Philippa" in s for s in spans)  # the offsets point at the values ...
    for value in spans | {"Philippa", "Quixwright", "hospital"}:
        assert value not in r.text  # ... which the receipt never carries
    # a sensitive note puts the customer under review
    assert api.get("/customers/N-1", "alice", "service").json()["suppression"]["under_review"] is True


def test_notes_are_read_masked_per_role(api: Api) -> None:
    api.create_customer("alice", "N-2")
    api.post("/customers/N-2/notes", "alice", "service", json={"text": "Prefers calls after 5pm."})
    own = api.get("/customers/N-2/notes", "alice", "service").json()["notes"]
    assert own[0]["body"] == "Prefers calls after 5pm." and own[0]["author"] == "alice"
    officer = api.get("/customers/N-2/notes", "cora", "compliance").json()["notes"]
    assert officer[0]["body"] is None and "labels" in officer[0]  # body withheld, findings readable
    r = api.get("/customers/N-2/notes", "mailer", "marketing")
    assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json"


def test_note_over_the_size_limit_is_413(api: Api) -> None:
    api.create_customer("alice", "N-3")
    limit = api.hush.settings.note_max_bytes
    r = api.post("/customers/N-3/notes", "alice", "service", json={"text": "é" * (limit // 2 + 1)})
    assert r.status_code == 413 and r.json()["title"] == "Payload too large"
    assert api.get("/customers/N-3/notes", "alice", "service").json()["notes"] == []


def test_bob_cannot_add_notes_to_alices_customer(api: Api) -> None:
    api.create_customer("alice", "N-4")
    r = api.post("/customers/N-4/notes", "bob", "service", json={"text": "hello"})
    assert r.status_code == 404
    assert api.get("/customers/N-4/notes", "alice", "service").json()["notes"] == []


# -- the API layer against the NoteService contract, with a fake -------------------------


@dataclass(frozen=True)
class FakeReceipt:
    note_id: str
    sensitivity: str
    labels: tuple[str, ...]
    findings: tuple[dict[str, Any], ...]


class FakeNotes:
    """Returns a receipt with an extra key that must never reach the client."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str]] = []

    def add(self, ctx: AccessContext, external_id: str, text: str) -> FakeReceipt:
        self.calls.append((ctx.subject, ctx.request_id, external_id))
        finding = {"type": "PERSON", "category": "identifier", "start": 0, "end": 5, "value": text[:5]}
        return FakeReceipt("n-1", "personal", ("identifier",), (finding,))


@pytest.fixture
def fake_api(hush: Any) -> Iterator[tuple[Api, FakeNotes]]:
    notes = FakeNotes()
    a = make_api(hush, notes_service=notes)
    with a.client:
        yield a, notes


def test_extra_receipt_keys_are_dropped(fake_api: tuple[Api, FakeNotes]) -> None:
    api, notes = fake_api
    r = api.client.post(
        "/customers/X-1/notes",
        headers=api.headers("alice", "service", **{"X-Request-ID": "rid-1"}),
        json={"text": "Hello there"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["findings"] == [{"type": "PERSON", "category": "identifier", "start": 0, "end": 5}]
    assert "Hello" not in r.text
    assert notes.calls == [("alice", "rid-1", "X-1")]
