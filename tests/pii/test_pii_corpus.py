"""Quality on the hand-written corpus: recall per category, nothing leaks, harmless words survive."""

from __future__ import annotations

import pytest
from corpus_tools import load_corpus, score

from core.pii import EXPORT_POLICY, SENSITIVE_CATEGORIES, KnownRecords, PiiEngine, mask

KEY = b"corpus-test-key-0123456789abcdef"


@pytest.fixture(scope="module")
def results(engine: PiiEngine):  # type: ignore[no-untyped-def]
    notes = load_corpus()
    analyses = [
        engine.analyse(n.text, known=KnownRecords.from_pairs(n.known) if n.known else None) for n in notes
    ]
    masked = [
        mask(n.text, a, policy=EXPORT_POLICY, hash_key=KEY) for n, a in zip(notes, analyses, strict=True)
    ]
    return notes, score(notes, analyses, masked)


def test_corpus_shape(results) -> None:  # type: ignore[no-untyped-def]
    notes, s = results
    assert len(notes) >= 200
    assert {n.lang for n in notes} == {"en", "zh"}
    assert sum(1 for n in notes if not n.spans) >= 50  # harmless business notes
    assert set(SENSITIVE_CATEGORIES) <= set(s.per_label)


@pytest.mark.parametrize("category", SENSITIVE_CATEGORIES)
def test_recall_per_sensitive_category(results, category: str) -> None:  # type: ignore[no-untyped-def]
    found, total = results[1].per_label[category]
    assert found / total >= 0.98


def test_recall_identifiers(results) -> None:  # type: ignore[no-untyped-def]
    assert results[1].recall(lambda label: label.isupper()) >= 0.98


def test_no_labelled_value_survives_masking(results) -> None:  # type: ignore[no-untyped-def]
    assert results[1].leak_share <= 0.02


def test_harmless_words_kept(results) -> None:  # type: ignore[no-untyped-def]
    assert results[1].kept_share >= 0.95
