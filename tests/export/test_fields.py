"""Merge fields: names, sources of derived fields, and the derivations (UK and Chinese)."""

from __future__ import annotations

import pytest

from core.errors import InputError
from core.export.fields import base_fields_for, city, first_name, parse_fields, salutation


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("12 King Street, Leeds LS1 4AP", "Leeds"),  # comma before the town
        ("12 Elm Road Leeds LS1 4AP", "Leeds"),  # broker lists: no commas, town after the street word
        ("Flat 3, 10 High Street, Milton Keynes, MK9 1AA", "Milton Keynes"),  # postcode on its own
        ("10 Downing St, London SW1A 2AA", "London"),  # abbreviated street word
        ("5 Oak Lane", ""),  # no town at all: empty, never a guess
        ("北京市朝阳区建国路12号", "北京市"),  # municipality
        ("广东省广州市天河区天河路3号", "广州市"),  # province first, then the city
        ("新疆维吾尔自治区乌鲁木齐市天山区1号", "乌鲁木齐市"),  # autonomous region
        ("中国 浙江省杭州市西湖区文三路8号", "杭州市"),  # country prefix and spaces
        ("", ""),
    ],
)
def test_city(address: str, expected: str) -> None:
    assert city(address) == expected


@pytest.mark.parametrize(
    ("name", "first", "greeting"),
    [
        ("Oliver Smith", "Oliver", "Dear Oliver Smith"),
        ("Dr. Jane Doe", "Jane", "Dear Dr. Jane Doe"),  # titles are skipped for the first name
        ("王伟", "伟", "尊敬的王伟"),  # Chinese: family name first
        ("欧阳娜娜", "娜娜", "尊敬的欧阳娜娜"),  # compound family name
        ("", "", "Dear customer"),
    ],
)
def test_names(name: str, first: str, greeting: str) -> None:
    assert first_name(name) == first
    assert salutation(name) == greeting


def test_derived_fields_need_their_source() -> None:
    assert base_fields_for(["first_name", "city", "segment", "email"]) == (
        "full_name",
        "postal_address",
        "email",
    )


@pytest.mark.parametrize("raw", [["notes"], ["full_name", "body"], [""], ["consent"]])
def test_unknown_or_unmergeable_fields_are_refused(raw: list[str]) -> None:
    with pytest.raises(InputError):
        parse_fields(raw)
