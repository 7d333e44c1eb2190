"""Issue 13, item 6: a note's receipt is no oracle for customers outside the writer's scope.

Record-aware detection marks the names, emails and phones of every customer in a new
note, and the stored analysis keeps all of them (they mask).  What the writer gets back
(the receipt on the service and the HTTP API, and the findings and sensitivity of their
own read-back) must be the same whether a string belongs to a customer they may not see
or to no customer at all.  The strict check writes the SAME text twice: before and after
bob creates a customer with that value; alice's two receipts may differ in the note id
only.  Compliance (who may see every finding, and never the text) sees the stored one.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa

from api.wiring import Hush
from core.apikeys import ApiKeys
from core.models import customers_t
from core.notes import NOTE_ANALYSIS_VERSION
from core.pii.analysis import ANALYSER_VERSION
from core.pii.known_records import KnownRecords
from core.records import CustomerInput

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient


@dataclass(frozen=True)
class Case:
    kind: str  # known-record kind: name, email, phone
    value: str  # bob's customer's value (case 2), or nobody's (case 3)
    own: str  # alice's own customer's value of the same kind (case 1)
    template: str  # the note, with {} where the value goes
    type: str


CASES = [
    # a lower-case name the generic detectors do not report (record-aware detection only)
    Case(
        "name",
        "thandiwe mbeki-ocampo",
        "zanele okonkwo-baptiste",
        "re the sofa: {} prefers mornings",
        "PERSON",
    ),
    Case(
        "name",
        "kgomotso ndlovu-ferreira",
        "zanele okonkwo-baptiste",
        "spoke with {} about the order",
        "PERSON",
    ),
    Case("name", "欧阳娜娜", "司马相如", "今天和{}谈了沙发订单", "PERSON"),
    Case("email", "thandi.mo@example.net", "zan.ob@example.org", "mail {} before friday", "EMAIL_ADDRESS"),
    Case("phone", "+44 7700 900456", "+44 7700 900123", "ring {} after lunch", "PHONE_NUMBER"),
    Case("phone", "07700 900654", "07700 900321", "call back on {} re the sofa", "PHONE_NUMBER"),
]
IDS = [f"{c.kind}-{i}" for i, c in enumerate(CASES)]


def _customer(ext: str, owner: str, case: Case, value: str) -> CustomerInput:
    fields: dict[str, Any] = {"full_name": value if case.kind == "name" else f"Customer {ext}"}
    if case.kind == "email":
        fields["email"] = value
    if case.kind == "phone":
        fields["phone"] = value
    return CustomerInput(external_id=ext, owner=owner, **fields)


def _span(text: str, value: str) -> tuple[int, int]:
    start = text.index(value)
    return start, start + len(value)


def _spans(findings: Any, type_: str) -> set[tuple[int, int]]:
    return {(f["start"], f["end"]) for f in findings if f["type"] == type_}


def _without_id(doc: dict[str, Any]) -> dict[str, Any]:
    """Everything but what differs between two writes of the same text (id and time)."""
    return {k: v for k, v in doc.items() if k not in ("note_id", "created_at")}


def _notes(hush: Hush, subject: str, purpose: str, ext: str) -> dict[str, dict[str, Any]]:
    return {n.note_id: dict(n.values) for n in hush.gateway.read_notes(hush.context(subject, purpose), ext)}


# -- the service ----------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_service_receipt_same_for_bobs_customer_and_no_customer(hush: Hush, case: Case) -> None:
    alice = hush.context("alice", "service")
    hush.writes.create(alice, CustomerInput(external_id="A0", full_name="Rose Tyler", owner="alice"))
    text = case.template.format(case.value)
    span = _span(text, case.value)

    nobody = hush.notes.add(alice, "A0", text)  # (3) the string is no customer
    hush.writes.create(hush.context("bob", "service"), _customer("B1", "bob", case, case.value))
    of_bob = hush.notes.add(alice, "A0", text)  # (2) the same string is bob's customer

    assert of_bob.note_id != nobody.note_id
    assert _without_id(of_bob.to_dict()) == _without_id(nobody.to_dict())

    # alice's read-back of her own notes: the same findings and sensitivity for both
    mine = _notes(hush, "alice", "service", "A0")
    assert mine[of_bob.note_id]["body"] == mine[nobody.note_id]["body"] == text
    assert _without_id(mine[of_bob.note_id]) == _without_id(mine[nobody.note_id])
    assert mine[of_bob.note_id]["findings"] == list(of_bob.findings)

    # the stored analysis still protects bob's customer: compliance sees the finding
    stored = _notes(hush, "cora", "compliance", "A0")
    assert span in _spans(stored[of_bob.note_id]["findings"], case.type)
    assert stored[of_bob.note_id]["sensitivity"] in ("personal", "sensitive")

    # (1) a value of alice's own customer is reported at its place
    hush.writes.create(alice, _customer("A1", "alice", case, case.own))
    own_text = case.template.format(case.own)
    own = hush.notes.add(alice, "A0", own_text)
    assert _span(own_text, case.own) in _spans(own.findings, case.type)


def test_record_only_finding_is_stored_but_not_returned(hush: Hush) -> None:
    """The case the rule exists for: only record-aware detection sees the name.  The stored
    analysis marks it (personal); the writer's receipt says nothing was found (none), exactly
    as for a string that is no customer; so this test fails if the receipt were unscoped."""
    case = CASES[0]
    alice = hush.context("alice", "service")
    hush.writes.create(alice, CustomerInput(external_id="A0", full_name="Rose Tyler", owner="alice"))
    hush.writes.create(hush.context("bob", "service"), _customer("B1", "bob", case, case.value))
    text = case.template.format(case.value)
    receipt = hush.notes.add(alice, "A0", text)
    assert receipt.sensitivity == "none" and receipt.findings == ()
    stored = _notes(hush, "cora", "compliance", "A0")[receipt.note_id]
    assert stored["sensitivity"] == "personal"
    assert _spans(stored["findings"], "PERSON") == {_span(text, case.value)}
    dpo = _notes(hush, "dana", "erasure", "A0")[receipt.note_id]  # reads every customer: sees it
    assert _spans(dpo["findings"], "PERSON") == {_span(text, case.value)}


def test_value_shared_with_an_own_customer_is_shown(hush: Hush) -> None:
    case = CASES[0]
    alice = hush.context("alice", "service")
    hush.writes.create(alice, CustomerInput(external_id="A0", full_name="Rose Tyler", owner="alice"))
    hush.writes.create(hush.context("bob", "service"), _customer("B1", "bob", case, case.value))
    hush.writes.create(alice, _customer("A1", "alice", case, case.value))  # the same name, hers too
    text = case.template.format(case.value)
    receipt = hush.notes.add(alice, "A0", text)
    assert _spans(receipt.findings, "PERSON") == {_span(text, case.value)}


def test_erased_customer_is_no_longer_shown(hush: Hush) -> None:
    case = CASES[0]
    alice = hush.context("alice", "service")
    hush.writes.create(alice, CustomerInput(external_id="A0", full_name="Rose Tyler", owner="alice"))
    hush.writes.create(alice, _customer("A1", "alice", case, case.value))
    text = case.template.format(case.value)
    note = hush.notes.add(alice, "A0", text)
    assert note.findings  # her own customer: shown
    hush.writes.erase(hush.context("dana", "erasure"), "A1")
    assert _notes(hush, "alice", "service", "A0")[note.note_id]["findings"] == []


def test_analysis_stored_before_scoping_is_reanalysed_on_read(hush: Hush) -> None:
    """A note stored under the previous format (record-aware findings mixed into the generic
    ones, no customers named) is re-analysed on its next read, then scoped like a new one."""
    case = CASES[0]
    alice = hush.context("alice", "service")
    hush.writes.create(alice, CustomerInput(external_id="A0", full_name="Rose Tyler", owner="alice"))
    hush.writes.create(hush.context("bob", "service"), _customer("B1", "bob", case, case.value))
    text = case.template.format(case.value)
    receipt = hush.notes.add(alice, "A0", text)
    legacy = hush.pii().analyse(text, known=KnownRecords.from_pairs([("name", case.value)]))
    assert legacy.findings  # the old format reported the name to everyone
    with hush.gateway.governance.transaction() as conn:
        customer_id = conn.execute(
            sa.select(customers_t.c.id).where(customers_t.c.external_id == "A0")
        ).scalar_one()
        hush.gateway.store.replace_note_analysis(
            conn,
            customer_id,
            receipt.note_id,
            analysis=legacy.to_json().encode(),
            sensitivity=legacy.sensitivity,
            version=ANALYSER_VERSION,
        )
    mine = _notes(hush, "alice", "service", "A0")[receipt.note_id]
    assert mine["findings"] == [] and mine["sensitivity"] == "none"
    stored = _notes(hush, "cora", "compliance", "A0")[receipt.note_id]
    assert _spans(stored["findings"], "PERSON") == {_span(text, case.value)}  # re-analysed, still protected
    assert NOTE_ANALYSIS_VERSION != ANALYSER_VERSION


# -- the HTTP API ---------------------------------------------------------------------------


@pytest.fixture
def client(hush: Hush) -> Iterator[tuple[TestClient, dict[str, str]]]:
    from api.http import create_app

    keys = ApiKeys(gateway=hush.gateway)
    operator = hush.operator_context()
    tokens = {s: keys.create(operator, s).token for s in ("alice", "bob", "cora")}
    with TestClient(create_app(hush), raise_server_exceptions=True) as c:
        yield c, tokens


def test_http_receipt_same_for_bobs_customer_and_no_customer(
    client: tuple[TestClient, dict[str, str]],
) -> None:
    c, tokens = client

    def h(subject: str, purpose: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens[subject]}", "X-Purpose": purpose}

    r = c.post(
        "/customers", headers=h("alice", "service"), json={"external_id": "A0", "full_name": "Rose Tyler"}
    )
    assert r.status_code == 201, r.text
    pairs: list[tuple[Case, str, dict[str, Any], dict[str, Any]]] = []
    for i, case in enumerate(CASES):
        text = case.template.format(case.value)
        nobody = c.post("/customers/A0/notes", headers=h("alice", "service"), json={"text": text})
        assert nobody.status_code == 201, nobody.text
        body: dict[str, Any] = {"external_id": f"B{i}", "full_name": f"Customer B{i}"}
        body[{"name": "full_name", "email": "email", "phone": "phone"}[case.kind]] = case.value
        r = c.post("/customers", headers=h("bob", "service"), json=body)
        assert r.status_code == 201, r.text
        of_bob = c.post("/customers/A0/notes", headers=h("alice", "service"), json={"text": text})
        assert of_bob.status_code == 201, of_bob.text
        assert _without_id(of_bob.json()) == _without_id(nobody.json()), case
        pairs.append((case, text, nobody.json(), of_bob.json()))

    mine = {
        n["note_id"]: n for n in c.get("/customers/A0/notes", headers=h("alice", "service")).json()["notes"]
    }
    cora = {
        n["note_id"]: n for n in c.get("/customers/A0/notes", headers=h("cora", "compliance")).json()["notes"]
    }
    for case, text, nobody, of_bob in pairs:
        assert _without_id(mine[of_bob["note_id"]]) == _without_id(mine[nobody["note_id"]]), case
        assert _span(text, case.value) in _spans(cora[of_bob["note_id"]]["findings"], case.type), case
