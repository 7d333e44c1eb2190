from __future__ import annotations

import pytest

from core.pii.recognizers.obfuscated import obfuscated_recognizer

REC = obfuscated_recognizer("en")


def _found(text: str) -> list[tuple[str, str]]:
    return [(r.entity_type, text[r.start : r.end]) for r in REC.analyze(text, [])]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("write to john dot smith at gmail dot com", ("EMAIL_ADDRESS", "john dot smith at gmail dot com")),
        ("john [at] qq [dot] com", ("EMAIL_ADDRESS", "john [at] qq [dot] com")),
        ("j.smith at company.co.uk", ("EMAIL_ADDRESS", "j.smith at company.co.uk")),
        ("邮箱是wang 艾特 qq 点 com", ("EMAIL_ADDRESS", "wang 艾特 qq 点 com")),
        ("0 7 7 0 0 9 0 0 1 2 3 is his mobile", ("PHONE_NUMBER", "0 7 7 0 0 9 0 0 1 2 3")),
        ("call 07700.900.123", ("PHONE_NUMBER", "07700.900.123")),
        ("call 07700-900-123", ("PHONE_NUMBER", "07700-900-123")),
        ("电话一三八零零一三八零零零", ("PHONE_NUMBER", "一三八零零一三八零零零")),
    ],
)
def test_found(text: str, expected: tuple[str, str]) -> None:
    assert expected in _found(text)


@pytest.mark.parametrize(
    "text",
    [
        "arrived at noon. He said it was fine",  # "at" and a full stop are not an address
        "meet at the co. Tomorrow",
        "on 2024-01-15 at 10",  # a date has too few digits
        "order 12 units at 3 pm",
    ],
)
def test_not_found(text: str) -> None:
    assert _found(text) == []
