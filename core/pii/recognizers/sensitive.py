"""Sensitive life events and special categories, English and Chinese.

One recognizer per language; all categories are compiled into ONE alternation
with a named group per category, so a note is scanned once.  Entity types are
the upper-cased category names (``BEREAVEMENT``, ``HEALTH`` ...).  Matching runs on
the text's skeleton (:func:`core.pii.normaliser.skeleton`), the same view as the
import screen and the outbound gate, with the same street/place exemptions
(:class:`core.pii.screen.SensitiveScreen`); offsets are those of the text given.
"""

from __future__ import annotations

from presidio_analyzer import LocalRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from core.pii.analysis import SENSITIVE_CATEGORIES, sensitive_type
from core.pii.normaliser import skeletons
from core.pii.recognizers.sensitive_terms_en import TERMS_EN
from core.pii.recognizers.sensitive_terms_zh import TERMS_ZH
from core.pii.screen import SensitiveScreen
from core.pii.terms import SENSITIVE_SCORE, TermPrefilter, compile_terms


class SensitiveRecognizer(LocalRecognizer):
    def __init__(self, *, language: str) -> None:
        terms = TERMS_ZH if language == "zh" else TERMS_EN
        self._pattern = compile_terms(terms, word_bounded=language != "zh")
        self._prefilter = TermPrefilter(terms, word_bounded=language != "zh")
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
        wanted = set(entities) if entities else None
        results: list[RecognizerResult] = []
        seen: set[tuple[int, int, str]] = set()
        for norm in skeletons(text):
            for view in (norm.text, *norm.variants):
                if not self._prefilter.may_match(view):
                    continue
                for match in self._pattern.finditer(view):
                    category = match.lastgroup
                    if category is None:
                        continue
                    entity = self._types[category]
                    if wanted is not None and entity not in wanted:
                        continue
                    start, end = norm.to_original(match.start(), match.end())
                    if (start, end, entity) in seen or SensitiveScreen.exempted(
                        norm, text, view, match.start(), match.end()
                    ):
                        continue
                    seen.add((start, end, entity))
                    results.append(RecognizerResult(entity, start, end, SENSITIVE_SCORE))
        return results
