"""Personal and sensitive content in free text: analyse once on write, mask on the way out.

Public API::

    PiiEngine.create(*, spacy_model=..., zh_model=...) -> PiiEngine  # shared, lazy, offline (zh: LAC on ONNX)
    engine.analyse(text, *, lang="auto", known=None) -> Analysis
    engine.analyse_many(texts, *, lang="auto", known=None) -> list[Analysis]
    KnownRecords.from_pairs([(kind, value), ...])            # names, emails, phones (memory only)
    mask(text, analysis, *, policy, hash_key) -> str | None  # stored spans, no NLP
    EXPORT_POLICY                                            # mail-merge and ``hushdb pii mask``
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

# Names are resolved on first use (PEP 562): importing ``core.pii`` for the fast
# screen or the analysis value types must not load Presidio and spaCy.
_WHERE = {
    "ANALYSER_VERSION": "core.pii.analysis",
    "IDENTIFIER": "core.pii.analysis",
    "QUASI_IDENTIFIER": "core.pii.analysis",
    "SENSITIVE_CATEGORIES": "core.pii.analysis",
    "Analysis": "core.pii.analysis",
    "Finding": "core.pii.analysis",
    "PiiEngine": "core.pii.engine",
    "KnownRecords": "core.pii.known_records",
    "NormalisedText": "core.pii.normaliser",
    "normalise": "core.pii.normaliser",
    **{
        name: "core.pii.operators"
        for name in (
            "EXPORT_POLICY",
            "OPERATORS",
            "Action",
            "DropNoteParams",
            "DropSentenceParams",
            "HashParams",
            "MaskPolicy",
            "Operator",
            "OperatorRegistry",
            "PartialParams",
            "RedactParams",
            "TagParams",
            "WithholdParams",
            "mask",
            "masked_ranges",
        )
    },
}

if TYPE_CHECKING:
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
        WithholdParams,
        mask,
        masked_ranges,
    )


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'core.pii' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


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
    "WithholdParams",
    "mask",
    "masked_ranges",
    "normalise",
]
