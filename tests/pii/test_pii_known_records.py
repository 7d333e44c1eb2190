from __future__ import annotations

import pickle

import pytest

from core.errors import InputError
from core.pii import KnownRecords, normalise
from core.pii.analysis import IDENTIFIER, Analysis, Finding
from core.pii.known_records import RecordAwareAnalysis
from core.pii.operators import EXPORT_POLICY, mask

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


# -- whose value a mention is, and what one person may be shown (issue 13, item 6) ---------

BY_CUSTOMER = KnownRecords.from_records(
    [
        ("name", "John Smith", "c-bob"),
        ("name", "john smith", "c-alice"),  # the same name, another customer
        ("name", "Ann Smith", "c-carol"),  # shares the surname
        ("email", "js@example.com", "c-bob"),
        ("phone", "+44 7700 900123", "c-bob"),
    ]
)


def _owners(text: str) -> dict[str, frozenset[str]]:
    return {text[m.finding.start : m.finding.end]: m.customers for m in BY_CUSTOMER.matches(normalise(text))}


def test_matches_name_every_customer_a_value_belongs_to() -> None:
    found = _owners("John Smith (js@example.com, 07700 900123) and Mr Smith")
    assert found["John Smith"] == {"c-bob", "c-alice"}
    assert found["js@example.com"] == {"c-bob"}
    assert found["07700 900123"] == {"c-bob"}
    assert found["Smith"] == {"c-bob", "c-alice", "c-carol"}  # a surname names everyone who has it
    assert "c-bob" not in repr(BY_CUSTOMER.matches(normalise("John Smith"))[0])


def test_from_pairs_names_no_customer() -> None:
    assert all(not m.customers for m in KNOWN.matches(normalise("John Smith")))


TEXT = "Met John Smith; mail js@example.com"
NAME = (TEXT.index("John"), TEXT.index("John") + len("John Smith"))
MAIL = (TEXT.index("js@"), len(TEXT))


def _generic(*findings: Finding) -> Analysis:
    return Analysis.build(language="en", findings=findings)


def _stored(generic: Analysis) -> RecordAwareAnalysis:
    return RecordAwareAnalysis.combine(generic, BY_CUSTOMER.matches(normalise(TEXT)))


def _spans(a: Analysis) -> set[tuple[str, int, int]]:
    return {(f.type, f.start, f.end) for f in a.findings}


def test_combine_keeps_record_only_findings_with_their_customers() -> None:
    email = Finding("EMAIL_ADDRESS", IDENTIFIER, *MAIL, 0.6)  # the email detector reports it anyway
    stored = _stored(_generic(email))
    assert ("PERSON", *NAME) in _spans(stored.analysis)
    assert stored.analysis.sensitivity == "personal"
    assert dict(stored.record_of) == {("PERSON", *NAME): frozenset({"c-bob", "c-alice"})}
    assert email in stored.analysis.findings  # a generic finding is never replaced nor dropped


def test_view_hides_what_the_reader_may_not_see_and_leaves_no_trace() -> None:
    generic = _generic(Finding("EMAIL_ADDRESS", IDENTIFIER, *MAIL, 0.6))
    stored = _stored(generic)
    nobody = stored.view(lambda field, ids: False)
    assert nobody == generic  # exactly what a note naming no customer gets
    alice = stored.view(lambda field, ids: field == "full_name" and "c-alice" in ids)
    assert ("PERSON", *NAME) in _spans(alice)
    asked: list[tuple[str, frozenset[str]]] = []
    stored.view(lambda field, ids: asked.append((field, ids)) or False)
    assert asked == [("full_name", frozenset({"c-bob", "c-alice"}))]


def test_name_only_note_is_personal_when_stored_and_none_in_a_hidden_view() -> None:
    stored = RecordAwareAnalysis.combine(_generic(), BY_CUSTOMER.matches(normalise("see john smith")))
    assert stored.analysis.sensitivity == "personal"
    hidden = stored.view(lambda field, ids: False)
    assert hidden.sensitivity == "none" and hidden.findings == ()


def test_a_record_finding_naming_no_customer_is_never_shown() -> None:
    stored = RecordAwareAnalysis.combine(_generic(), KNOWN.matches(normalise("see john smith")))
    assert stored.analysis.findings
    assert stored.view(lambda field, ids: True).findings == ()  # fail closed


def test_stored_json_keeps_every_finding_for_masking() -> None:
    stored = _stored(_generic())
    doc = stored.to_json()
    assert "c-bob" in doc and "John" not in doc  # customer ids, never values
    back = RecordAwareAnalysis.from_json(doc)
    assert back == stored
    plain = Analysis.from_json(doc)  # what masking reads: every finding
    assert plain == stored.analysis
    masked = mask(TEXT, plain, policy=EXPORT_POLICY, hash_key=b"k" * 32)
    assert masked is not None and "Smith" not in masked and "js@example.com" not in masked


def test_stored_json_without_customer_ids_is_a_plain_analysis() -> None:
    doc = _generic(Finding("PERSON", IDENTIFIER, *NAME, 0.9)).to_json()
    assert RecordAwareAnalysis.from_json(doc).record_of == {}


@pytest.mark.parametrize("bad", ['"c-bob"', "[1]", "{}"])
def test_stored_json_with_bad_customer_ids_is_refused(bad: str) -> None:
    doc = _stored(_generic()).to_json().replace('["c-alice","c-bob"]', bad)
    assert bad in doc
    with pytest.raises(InputError):
        RecordAwareAnalysis.from_json(doc)
