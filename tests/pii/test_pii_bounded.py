"""Analysis work is bounded by the note: phone validation and context enhancement have per-note caps,
and letter-free stretches never reach the NER model.  These tests pin the behaviour (not the time;
the times are in bench/pii.py)."""

from __future__ import annotations

import pytest
from presidio_analyzer import RecognizerResult

from core.pii.engine import MAX_CONTEXT_RESULTS, NO_LETTER_RUN, BoundedContextEnhancer, tokenizer_safe
from core.pii.recognizers.phone import EXACT_GROUPS, PHONE_GROUP, BoundedPhoneRecognizer
from core.pii.registry import PHONE_REGIONS


@pytest.fixture(scope="module")
def phones() -> BoundedPhoneRecognizer:
    return BoundedPhoneRecognizer(supported_regions=PHONE_REGIONS)


def test_few_digit_groups_are_validated_exactly(phones: BoundedPhoneRecognizer) -> None:
    text = "Call 07700 900123 or +1 415 555 2671; order 12345678 is not a phone."
    found = {text[r.start : r.end] for r in phones.analyze(text, ["PHONE_NUMBER"])}
    assert "07700 900123" in found and "+1 415 555 2671" in found
    assert "12345678" not in found


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("ask Anne (07700 900123) first", "07700 900123"),
        ("ring (020) 7946 0958 after six", "(020) 7946 0958"),
        ("mobile (07700 900123), evenings", "07700 900123"),
    ],
)
def test_a_bracket_around_a_number_stays_outside_it(
    phones: BoundedPhoneRecognizer, text: str, number: str
) -> None:
    """A masked number in brackets leaves both brackets ("(<PHONE_NUMBER>)"); an area code's own
    brackets are part of the number."""
    assert number in {text[r.start : r.end] for r in phones.analyze(text, ["PHONE_NUMBER"])}


def test_a_table_of_numbers_is_masked_unparsed_not_parsed(phones: BoundedPhoneRecognizer) -> None:
    text = ", ".join(str(10_000_000 + i) for i in range(EXACT_GROUPS + 10))
    found = phones.analyze(text, ["PHONE_NUMBER"])
    assert len(found) == EXACT_GROUPS + 10  # every group, fail closed
    assert all(r.score >= 0.35 for r in found)  # above the analyser's threshold


@pytest.mark.parametrize(
    ("text", "groups"),
    [
        ("07700 900123", 1),
        ("+44-20-7946-0958", 1),
        ("123456", 0),  # six digits: not phone-shaped
        ("1" * 40, 0),  # a long digit run is no phone number
        ("1-" * 40, 3),  # 40 digits: cut into groups of at most 16
    ],
)
def test_phone_groups(text: str, groups: int) -> None:
    assert len(PHONE_GROUP.findall(text)) == groups


def test_letter_free_stretches_are_blanked_for_ner_and_offsets_hold() -> None:
    digits = "1-" * NO_LETTER_RUN
    text = f"Mary Jones {digits} lives in Leeds"
    safe = tokenizer_safe(text)
    assert len(safe) == len(text)
    assert safe.startswith("Mary Jones ") and safe.endswith(" lives in Leeds")
    assert safe[len("Mary Jones ") : -len(" lives in Leeds")].strip() == ""  # the digits became spaces
    short = "Flat 12-14, 1 High St"
    assert tokenizer_safe(short) == short  # short runs of digits keep their context


def test_context_enhancement_is_skipped_above_the_cap() -> None:
    many = [RecognizerResult("PHONE_NUMBER", i, i + 1, 0.4) for i in range(MAX_CONTEXT_RESULTS + 1)]
    out = BoundedContextEnhancer().enhance_using_context("x" * 400, many, None, [])  # type: ignore[arg-type]
    assert [r.score for r in out] == [0.4] * len(many)
