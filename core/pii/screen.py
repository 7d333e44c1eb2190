"""A fast screen for sensitive content: the sensitive-category term lists, no NLP.

Used where the full analyser would be too slow or where only sensitive
content matters: a customer's own text fields at import (a broker list that
carries "Daughter Killed in Car Crash" in the name line is flagged then, not
at mailing time), and the outbound gate over every rendered letter.  The same
term lists and compiled patterns as :class:`~core.pii.recognizers.sensitive.SensitiveRecognizer`
(one alternation per language), on normalised text, with offsets mapped back
to the original.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Mapping

from core.pii.analysis import Analysis, Finding, sensitive_type
from core.pii.language import detect_language, has_cjk
from core.pii.normaliser import is_normal, normalise
from core.pii.recognizers.sensitive_terms_en import TERMS_EN
from core.pii.recognizers.sensitive_terms_zh import TERMS_ZH
from core.pii.terms import SENSITIVE_SCORE, TermPrefilter, compile_terms


class SensitiveScreen:
    """Finds sensitive-category spans with two compiled regular expressions."""

    _shared: SensitiveScreen | None = None
    _lock = threading.Lock()

    def __init__(self) -> None:
        self._en = compile_terms(TERMS_EN, word_bounded=True)
        self._zh = compile_terms(TERMS_ZH, word_bounded=False)
        self._en_filter = TermPrefilter(TERMS_EN)
        self._zh_filter = TermPrefilter(TERMS_ZH)

    @classmethod
    def shared(cls) -> SensitiveScreen:
        with cls._lock:
            if cls._shared is None:
                cls._shared = cls()
            return cls._shared

    def findings(self, text: str) -> tuple[Finding, ...]:
        norm = normalise(text)
        candidates = [(self._en, self._en_filter)]
        if has_cjk(norm.text):
            candidates.append((self._zh, self._zh_filter))
        out: list[Finding] = []
        for pattern, prefilter in candidates:
            if not prefilter.may_match(norm.text):
                continue
            for match in pattern.finditer(norm.text):
                category = match.lastgroup
                if category is None:
                    continue
                start, end = norm.to_original(match.start(), match.end())
                out.append(Finding(sensitive_type(category), category, start, end, SENSITIVE_SCORE))
        return tuple(out)

    def surely_clean(self, texts: Iterable[str]) -> bool:
        """True only when no text holds a finding: one cheap pass over all of them.

        Exact for plain ASCII texts that normalisation leaves unchanged (a
        customer's name and address, nearly always): no Chinese pattern can
        match them, and if no required literal of an English term occurs in the
        texts joined by newlines, none occurs in any one of them.  False means
        "look with :meth:`findings`", not "found".
        """
        joined = "\n".join(texts)
        return is_normal(joined) and not self._en_filter.may_match(joined)

    def analyse(self, text: str) -> Analysis:
        """An :class:`Analysis` holding only sensitive findings (identifiers are not looked for)."""
        return Analysis.build(language=detect_language(text), findings=self.findings(text))


class CustomerFieldScreen:
    """Implements :class:`core.store.FieldScreen` for a customer's name and address.

    The fields are personal by definition; the screen asks only whether they
    also carry sensitive content.  The stored analysis is JSON keyed by field.
    """

    def __init__(self, screen: SensitiveScreen | None = None) -> None:
        self._screen = screen or SensitiveScreen.shared()

    def screen_fields(self, values: Mapping[str, str]) -> tuple[str, bytes | None]:
        if self._screen.surely_clean(values.values()):
            return "personal", None
        found = {name: self._screen.findings(value) for name, value in values.items()}
        if not any(found.values()):
            return "personal", None  # the common case: nothing to store beyond the level
        doc = {
            name: Analysis.build(language=detect_language(values[name]), findings=findings).to_dict()
            for name, findings in found.items()
            if findings
        }
        return "sensitive", json.dumps(doc, ensure_ascii=False).encode()
