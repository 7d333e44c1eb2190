"""Masking functions as tables: (mask, field, value, expected), a comment per row."""

from __future__ import annotations

import pytest

from core.errors import ConfigError, PolicyError
from policies.masks import apply_mask, mask_function

KEY = b"k" * 32
OTHER_KEY = b"o" * 32

PARTIAL = [
    # email: first letter of the local part, then the domain
    ("email", "john@example.com", "j***@example.com"),
    # email: a one-letter local part still hides its length
    ("email", "j@example.com", "j***@example.com"),
    # email without @: masked like words
    ("email", "not-an-email", "n**-a*-e****"),
    # phone in E.164: country code and the last three digits
    ("phone", "+447700900123", "+44 **** ***123"),
    # phone already spaced: the same result
    ("phone", "+44 7700 900123", "+44 **** ***123"),
    # a US number: country code 1 kept, grouping from the number's own format
    ("phone", "+14155550123", "+1 ***-***-*123"),
    # a national number without a country code: only the last three digits
    ("phone", "07700 900123", "***** ***123"),
    # names: each word keeps its first letter
    ("full_name", "John Smith", "J*** S****"),
    # hyphenated and accented names
    ("full_name", "Zoë Hart-Lee", "Z** H***-L**"),
    # a Chinese name (one word)
    ("full_name", "王小明", "王**"),
    # an address: letters and digits masked, punctuation kept
    ("postal_address", "12 High Street, London SW1A 1AA", "1* H*** S*****, L***** S*** 1**"),
    # an ISO birth date keeps the year
    ("birth_date", "1984-05-17", "1984-**-**"),
    # a birth date in another form falls back to words
    ("birth_date", "17 May 1984", "1* M** 1***"),
    # the empty string stays empty
    ("full_name", "", ""),
]


@pytest.mark.parametrize(("field", "value", "expected"), PARTIAL)
def test_partial(field: str, value: str, expected: str) -> None:
    assert apply_mask("partial", field, value, hash_key=KEY) == expected


MASKS_ON_NONE = ["full", "partial", "hashed", "none"]


@pytest.mark.parametrize("mask", MASKS_ON_NONE)
def test_none_stays_none(mask: str) -> None:
    assert apply_mask(mask, "email", None, hash_key=KEY) is None


SIMPLE = [
    # full: the value as is
    ("full", "email", "john@example.com", "john@example.com"),
    # full keeps even odd whitespace
    ("full", "full_name", " John ", " John "),
    # none: withheld
    ("none", "email", "john@example.com", None),
    # none on a note body: withheld
    ("none", "body", "the customer's relative died", None),
]


@pytest.mark.parametrize(("mask", "field", "value", "expected"), SIMPLE)
def test_full_and_none(mask: str, field: str, value: str, expected: str | None) -> None:
    assert apply_mask(mask, field, value, hash_key=KEY) == expected


HASH_EQUAL = [
    # email: case and surrounding spaces do not matter (duplicates meet)
    ("email", "John@Example.COM ", "john@example.com"),
    # phone: punctuation and spaces do not matter
    ("phone", "+44 7700 900-123", "+447700900123"),
    # names: case and repeated spaces do not matter
    ("full_name", "john  SMITH", "John Smith"),
]


@pytest.mark.parametrize(("field", "a", "b"), HASH_EQUAL)
def test_hash_normalises(field: str, a: str, b: str) -> None:
    assert apply_mask("hashed", field, a, hash_key=KEY) == apply_mask("hashed", field, b, hash_key=KEY)


def test_hash_form_and_separation() -> None:
    value = apply_mask("hashed", "email", "john@example.com", hash_key=KEY)
    assert value is not None
    assert value.startswith("h:")
    assert len(value) == 18
    int(value[2:], 16)
    # another key: another hash (the key is needed to link values)
    assert apply_mask("hashed", "email", "john@example.com", hash_key=OTHER_KEY) != value
    # another field: another hash (no linking across fields)
    assert apply_mask("hashed", "full_name", "john@example.com", hash_key=KEY) != value
    # another value: another hash
    assert apply_mask("hashed", "email", "jane@example.com", hash_key=KEY) != value
    # the plaintext does not appear
    assert "john" not in value


def test_hash_needs_a_real_key() -> None:
    with pytest.raises(ConfigError):
        apply_mask("hashed", "email", "john@example.com", hash_key=b"short")


def test_unknown_mask_is_refused() -> None:
    with pytest.raises(PolicyError):
        apply_mask("redacted", "email", "john@example.com", hash_key=KEY)


def test_mask_function_is_reusable_per_query() -> None:
    masker = mask_function("partial", "email", hash_key=KEY)
    assert [masker(v) for v in ("ann@a.org", None, "bo@b.org")] == ["a***@a.org", None, "b***@b.org"]
