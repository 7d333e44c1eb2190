"""The gate reads a merged field for what only fields are read for (field-only remark phrases and
misspelt terms), as the import screen does: a customer imported before the screen knew them is still
withheld with the category, not only a shape reason."""

from __future__ import annotations

import pytest

from core.export.gate import GateReason, Letter, OutboundGate, StaticOwners

ADDRESS = "1 High St, Leeds LS1 1AA"


def gate() -> OutboundGate:
    return OutboundGate(owners=StaticOwners(), phone_region="GB")


def check(name: str, address: str = ADDRESS) -> set[GateReason]:
    text = f"{name}\n{address}\n\nDear customer,\nOur winter sale starts now.\n"
    letter = Letter(
        pseudonym="p_1",
        text=text,
        values={"full_name": name, "postal_address": address},
        stored_sensitive=False,
        sources={},
    )
    return set(gate().check(letter))


@pytest.mark.parametrize(
    ("name", "category"),
    [
        ("Ruth Evans passed on", "bereavement"),
        ("Carl Webb owes money", "financial_distress"),
        ("Dina Shah bankrupcy 2020", "financial_distress"),
        ("Lee Ward divorsed", "family_breakdown"),
    ],
)
def test_a_field_only_remark_is_withheld_with_its_category(name: str, category: str) -> None:
    assert GateReason(category, "full_name") in check(name)


@pytest.mark.parametrize("name", ["Ann Bell", "Mr Sick", "Hope Graves", "Dolores Payne"])
def test_names_that_look_alarming_go_out(name: str) -> None:
    assert check(name) == set()
