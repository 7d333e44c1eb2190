"""Sensitive life events and special categories, English and Chinese.

One recognizer per language; all categories are compiled into ONE alternation
with a named group per category, so a note is scanned once.  Entity types are
the upper-cased category names (``BEREAVEMENT``, ``HEALTH`` ...).
"""

from __future__ import annotations

from presidio_analyzer import LocalRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from core.pii.analysis import SENSITIVE_CATEGORIES, sensitive_type
from core.pii.recognizers.sensitive_terms_en import TERMS_EN
from core.pii.recognizers.sensitive_terms_zh import TERMS_ZH
from core.pii.terms import SENSITIVE_SCORE, TermPrefilter, compile_terms


class SensitiveRecognizer(LocalRecognizer):
    def __init__(self, *, language: str) -> None:
        terms = TERMS_ZH if language == "zh" else TERMS_EN
        self._pattern = compile_terms(terms, word_bounded=language != "zh")
        self._prefilter = TermPrefilter(terms)
        self._types = {cat: sensitive_type(cat) for cat in SENSITIVE_CATEGORIES}
        super().__init__(
            supported_entities=[sensitive_type(c) for c in SENSITIVE_CATEGORIES],
            name=f"HushSensitive_{language}",
            supported_language=language,
        )

    def load(self) -> None:
        """Nothing to load."""

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        if not self._prefilter.may_match(text):
            return []
        wanted = set(entities) if entities else None
        results: list[RecognizerResult] = []
        for match in self._pattern.finditer(text):
            category = match.lastgroup
            if category is None:
                continue
            entity = self._types[category]
            if wanted is not None and entity not in wanted:
                continue
            results.append(RecognizerResult(entity, match.start(), match.end(), SENSITIVE_SCORE))
        return results
