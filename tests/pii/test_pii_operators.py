"""Masking applies stored spans through registry operators with typed parameters; no NLP runs."""

from __future__ import annotations

import dataclasses

import pytest

from core.errors import ConfigError, InputError
from core.pii import (
    EXPORT_POLICY,
    OPERATORS,
    Action,
    Analysis,
    DropNoteParams,
    DropSentenceParams,
    Finding,
    HashParams,
    MaskPolicy,
    PartialParams,
    RedactParams,
    TagParams,
    mask,
)
from core.pii.engine import PiiEngine
from core.pii.operators import OperatorRegistry, TagOperator, sentence_spans

KEY = b"0123456789abcdef0123456789abcdef"
TEXT = "Call Mary on 07700 900123. Her husband died last month. Wants the winter catalogue."


def _analysis(text: str = TEXT) -> Analysis:
    def at(value: str, type_: str, category: str) -> Finding:
        start = text.index(value)
        return Finding(type_, category, start, start + len(value), 0.9)

    return Analysis.build(
        language="en",
        findings=(
            at("Mary", "PERSON", "identifier"),
            at("07700 900123", "PHONE_NUMBER", "identifier"),
            at("died", "BEREAVEMENT", "bereavement"),
        ),
    )


@pytest.fixture(autouse=True)
def no_nlp(monkeypatch: pytest.MonkeyPatch) -> None:
    """mask() must never load or run the analyser."""

    def boom(self: PiiEngine) -> None:
        raise AssertionError("mask ran NLP")

    monkeypatch.setattr(PiiEngine, "_load", boom)


def test_export_policy_tags_identifiers_and_withholds_sensitive_clauses() -> None:
    assert mask(TEXT, _analysis(), policy=EXPORT_POLICY, hash_key=KEY) == (
        "Call <PERSON> on <PHONE_NUMBER>. [withheld: bereavement] Wants the winter catalogue."
    )


def test_drop_sentence_leaves_a_marker() -> None:
    policy = MaskPolicy(by_category={"bereavement": Action("drop_sentence", DropSentenceParams())})
    text = "Her father died last week, so please call after the 20th. Wants sofas."
    start = text.index("died")
    a = Analysis.build(
        language="en", findings=(Finding("BEREAVEMENT", "bereavement", start, start + 4, 0.9),)
    )
    assert mask(text, a, policy=policy, hash_key=KEY) == "[withheld: bereavement] Wants sofas."


def _sensitive(text: str, *terms: tuple[str, str]) -> Analysis:
    findings = []
    for term, category in terms:
        start = text.index(term)
        findings.append(Finding(category.upper(), category, start, start + len(term), 0.9))
    return Analysis.build(language="en", findings=tuple(findings))


@pytest.mark.parametrize(
    ("text", "terms", "expected"),
    [
        (  # the instruction after the fact survives; the fact and its subject do not
            "Her father passed away last week, so please call after the 20th about the sofa order",
            [("passed away", "bereavement")],
            "[withheld: bereavement], so please call after the 20th about the sofa order",
        ),
        (  # a subject in an earlier clause of the same sentence goes with the fact
            "Her father, who lived in Leeds, died last week, so call after the 20th.",
            [("died", "bereavement")],
            "[withheld: bereavement], so call after the 20th.",
        ),
        (  # a fact in the last clause with its own subject: the clause before it and the full stop stay
            "Please call after the 20th, her father died. Wants sofas.",
            [("died", "bereavement")],
            "Please call after the 20th, [withheld: bereavement]. Wants sofas.",
        ),
        (  # two facts in one sentence: one marker with both categories, up to the later one
            "She is pregnant and lost her job: call in May, not before.",
            [("pregnant", "pregnancy"), ("lost her job", "financial_distress")],
            "[withheld: pregnancy, financial_distress]: call in May, not before.",
        ),
        (  # Chinese: full-width comma
            "她父亲上周去世了，请20号以后再打电话。想要沙发。",
            [("去世", "bereavement")],
            "[withheld: bereavement]，请20号以后再打电话。想要沙发。",
        ),
    ],
)
def test_withhold_the_clause_not_the_note(text: str, terms: list[tuple[str, str]], expected: str) -> None:
    assert mask(text, _sensitive(text, *terms), policy=EXPORT_POLICY, hash_key=KEY) == expected


def test_masked_ranges_match_mask() -> None:
    from core.pii.operators import masked_ranges

    text = "Call Mary now. Her father died, so call later."
    a = _sensitive(text, ("died", "bereavement"))
    a = Analysis.build(language="en", findings=(*a.findings, Finding("PERSON", "identifier", 5, 9, 0.9)))
    assert masked_ranges(text, a, policy=EXPORT_POLICY) == [(5, 9), (15, 30)]
    assert text[15:30] == "Her father died"


@pytest.mark.parametrize(
    ("action", "expected_name"),
    [
        (Action("tag", TagParams()), "<PERSON>"),  # type tag
        (Action("tag", TagParams(template="[{type}]")), "[PERSON]"),  # custom template
        (Action("redact", RedactParams()), ""),  # removed
        (Action("redact", RedactParams(replacement="***")), "***"),
        (Action("partial", PartialParams(keep_start=1, keep_end=0)), "M***"),  # at most a third revealed
    ],
)
def test_span_operators(action: Action, expected_name: str) -> None:
    policy = MaskPolicy(by_type={"PERSON": action}, by_category={"bereavement": action})
    out = mask(
        "Call Mary now",
        Analysis.build(language="en", findings=(Finding("PERSON", "identifier", 5, 9, 1.0),)),
        policy=policy,
        hash_key=KEY,
    )
    assert out == f"Call {expected_name} now".replace("  ", " ")


def test_hash_is_keyed_and_stable() -> None:
    policy = MaskPolicy(default=Action("hash", HashParams(length=12)))
    a = Analysis.build(language="en", findings=(Finding("PERSON", "identifier", 5, 9, 1.0),))
    one = mask("Call Mary now", a, policy=policy, hash_key=KEY)
    assert one == mask("Call Mary now", a, policy=policy, hash_key=KEY)
    assert one != mask("Call Mary now", a, policy=policy, hash_key=b"another-key-of-32-bytes-long!!!!")
    assert one is not None and "Mary" not in one


def test_drop_note() -> None:
    policy = dataclasses.replace(
        EXPORT_POLICY, by_category={"bereavement": Action("drop_note", DropNoteParams())}
    )
    assert mask(TEXT, _analysis(), policy=policy, hash_key=KEY) is None


def test_overlapping_spans_are_merged_under_the_strongest_operator() -> None:
    findings = (
        Finding("PERSON", "identifier", 5, 15, 0.8),
        Finding("EMAIL_ADDRESS", "identifier", 10, 27, 1.0),
    )
    policy = MaskPolicy(by_type={"EMAIL_ADDRESS": Action("redact", RedactParams(replacement="X"))})
    out = mask(
        "Mail john smith@example.org today",
        Analysis.build(language="en", findings=findings),
        policy=policy,
        hash_key=KEY,
    )
    assert out == "Mail X today"


def test_params_are_typed() -> None:
    with pytest.raises(ConfigError):
        Action("tag", RedactParams())
    with pytest.raises(ConfigError):
        Action("no_such_operator", TagParams())


def test_registry_accepts_plugins_once() -> None:
    registry = OperatorRegistry((TagOperator(),))
    with pytest.raises(ConfigError):
        registry.register(TagOperator())
    assert set(OPERATORS.names()) == {
        "tag",
        "partial",
        "hash",
        "redact",
        "drop_sentence",
        "withhold",
        "drop_note",
    }


def test_stale_analysis_is_refused() -> None:
    stale = dataclasses.replace(_analysis(), version="hushdb-pii/0.0.1")
    with pytest.raises(InputError):
        mask(TEXT, stale, policy=EXPORT_POLICY, hash_key=KEY)


def test_span_outside_text_is_refused() -> None:
    with pytest.raises(InputError):
        mask("short", _analysis(), policy=EXPORT_POLICY, hash_key=KEY)


def test_sentences_do_not_end_at_titles() -> None:
    text = "Spoke to Mr. Smith today. 她去世了。好的"
    assert [text[s:e].strip() for s, e in sentence_spans(text)] == [
        "Spoke to Mr. Smith today.",
        "她去世了。",
        "好的",
    ]
