"""Personal and sensitive content in free text: analyse once on write, mask on the way out.

Public API::

    PiiEngine.create(*, spacy_model=...) -> PiiEngine        # shared, lazy, offline
    engine.analyse(text, *, lang="auto", known=None) -> Analysis
    engine.analyse_many(texts, *, lang="auto", known=None) -> list[Analysis]
    KnownRecords.from_pairs([(kind, value), ...])            # names, emails, phones (memory only)
    mask(text, analysis, *, policy, hash_key) -> str | None  # stored spans, no NLP
    EXPORT_POLICY                                            # mail-merge and ``hushdb pii mask``
"""

from __future__ import annotations

from core.pii.analysis import (
    ANALYSER_VERSION,
    IDENTIFIER,
    QUASI_IDENTIFIER,
    SENSITIVE_CATEGORIES,
    Analysis,
    Finding,
)
from core.pii.engine import PiiEngine
from core.pii.known_records import KnownRecords
from core.pii.normaliser import NormalisedText, normalise
from core.pii.operators import (
    EXPORT_POLICY,
    OPERATORS,
    Action,
    DropNoteParams,
    DropSentenceParams,
    HashParams,
    MaskPolicy,
    Operator,
    OperatorRegistry,
    PartialParams,
    RedactParams,
    TagParams,
    mask,
)

__all__ = [
    "ANALYSER_VERSION",
    "EXPORT_POLICY",
    "IDENTIFIER",
    "OPERATORS",
    "QUASI_IDENTIFIER",
    "SENSITIVE_CATEGORIES",
    "Action",
    "Analysis",
    "DropNoteParams",
    "DropSentenceParams",
    "Finding",
    "HashParams",
    "KnownRecords",
    "MaskPolicy",
    "NormalisedText",
    "Operator",
    "OperatorRegistry",
    "PartialParams",
    "PiiEngine",
    "RedactParams",
    "TagParams",
    "mask",
    "normalise",
]
