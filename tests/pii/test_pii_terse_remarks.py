"""Terse remarks of the kinds staff type into a name or address field are found with their category;
the same words in ordinary use are not."""

from __future__ import annotations

import pytest

from core.export.gate import OutboundGate, StaticOwners


@pytest.fixture(scope="module")
def gate() -> OutboundGate:
    return OutboundGate(owners=StaticOwners(), phone_region="GB")


REMARKS = (
    ("dad d. 2019", "bereavement"),
    ("Ann Lee (d.2020)", "bereavement"),
    ("c/o the late Mrs Patel", "bereavement"),
    ("has been in a coma since May", "health"),
    ("comatose", "health"),
    ("foster child of the Smiths", "family_breakdown"),
    ("she was adopted", "family_breakdown"),
    ("abused as a teenager", "family_breakdown"),
    ("child abuse case", "family_breakdown"),
    ("homeless since June", "financial_distress"),
    ("sleeping rough", "financial_distress"),
    ("NFA - no fixed abode", "financial_distress"),
    ("benefit claimant", "financial_distress"),
    ("claims PIP", "financial_distress"),
    ("lifelong Labour voter", "political"),
    ("UKIP member", "political"),
    ("rape victim", "criminal_record"),
    ("sexually assaulted 2019", "criminal_record"),
    ("victim of stalking", "criminal_record"),
)

ORDINARY = (
    "Dear Mr Hill, our late summer sale",
    "we adopted a new returns policy",
    "fixed price delivery",
    "Coma Ruga, Tarragona",
)


@pytest.mark.parametrize(("remark", "category"), REMARKS)
def test_terse_remark_is_found(gate: OutboundGate, remark: str, category: str) -> None:
    assert category in gate.categories(remark), remark


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_use_is_not(gate: OutboundGate, text: str) -> None:
    assert not gate.categories(text), text
