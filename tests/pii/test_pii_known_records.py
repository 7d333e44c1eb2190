from __future__ import annotations

import pickle

import pytest

from core.errors import InputError
from core.pii import KnownRecords, normalise

KNOWN = KnownRecords.from_pairs(
    [("name", "John Smith"), ("email", "js@example.com"), ("phone", "+44 7700 900123"), ("name", "王小明")]
)


def _found(text: str) -> list[tuple[str, str]]:
    return sorted((f.type, text[f.start : f.end]) for f in KNOWN.find(normalise(text)))


def test_exact_values_found_case_insensitively() -> None:
    text = "JOHN SMITH wrote from Js@Example.com"
    assert _found(text) == [("EMAIL_ADDRESS", "Js@Example.com"), ("PERSON", "JOHN SMITH")]


def test_phone_found_with_any_separators_and_prefix() -> None:
    assert _found("ring 07700-900-123 today") == [("PHONE_NUMBER", "07700-900-123")]


def test_chinese_name_found_without_word_boundaries() -> None:
    assert _found("王小明的妻子来电") == [("PERSON", "王小明")]


def test_surname_found_when_capitalised() -> None:
    assert ("PERSON", "Smith") in _found("Mr Smith called")
    assert _found("Smithers called") == []  # whole words only


def test_full_width_text_is_normalised_first() -> None:
    text = "ｊｓ＠ｅｘａｍｐｌｅ．ｃｏｍ"
    assert _found(text) == [("EMAIL_ADDRESS", text)]


def test_never_serialised_nor_shown() -> None:
    assert "Smith" not in repr(KNOWN)
    with pytest.raises(TypeError):
        pickle.dumps(KNOWN)


def test_unknown_kind_rejected() -> None:
    with pytest.raises(InputError):
        KnownRecords.from_pairs([("iban", "GB00")])
