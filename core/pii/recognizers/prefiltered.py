"""Wrap a Presidio recognizer with a cheap pre-filter.

Most notes carry no digits, no ``@`` and no URL: the Presidio recognizers that
need them (phone, card, IBAN, SSN, IP, date, email, URL ...) are skipped with a
character test instead of running their regular expressions.
"""

from __future__ import annotations

import re
from typing import Final, cast

from presidio_analyzer import EntityRecognizer, LocalRecognizer, Pattern, PatternRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from core.pii.recognizers.base import Prefilter, has_digit

_URLISH: Final = re.compile(r"(?:https?:|www\.|\.[A-Za-z]{2,})")
_EMAILISH: Final = re.compile(r"@|＠")


def url_like(text: str) -> bool:
    return _URLISH.search(text) is not None


def email_like(text: str) -> bool:
    return _EMAILISH.search(text) is not None


#: Presidio recognizer class name -> pre-filter.  Recognizers not listed always run.
PREFILTERS: Final[dict[str, Prefilter]] = {
    "CreditCardRecognizer": has_digit,
    "UsBankRecognizer": has_digit,
    "UsLicenseRecognizer": has_digit,
    "UsItinRecognizer": has_digit,
    "UsPassportRecognizer": has_digit,
    "UsSsnRecognizer": has_digit,
    "NhsRecognizer": has_digit,
    "CryptoRecognizer": has_digit,
    "DateRecognizer": has_digit,
    "IbanRecognizer": has_digit,
    "IpRecognizer": has_digit,
    "MedicalLicenseRecognizer": has_digit,
    "MacAddressRecognizer": has_digit,
    "UuidRecognizer": has_digit,
    "PhoneRecognizer": has_digit,
    "BoundedPhoneRecognizer": has_digit,
    "UrlRecognizer": url_like,
    "EmailRecognizer": email_like,
    "OfflineEmailRecognizer": email_like,
}


class PrefilteredRecognizer(LocalRecognizer):
    """Runs ``inner`` only when ``prefilter(text)`` is true; otherwise finds nothing."""

    def __init__(self, *, inner: EntityRecognizer, prefilter: Prefilter) -> None:
        self._inner = inner
        self._prefilter = prefilter
        self._label = str(getattr(inner, "name", type(inner).__name__))
        super().__init__(
            supported_entities=list(inner.supported_entities),
            name=self._label,
            supported_language=inner.supported_language,
            context=list(inner.context),
        )

    @property
    def inner(self) -> EntityRecognizer:
        return self._inner

    def load(self) -> None:
        """The inner recognizer is loaded already."""

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        if not self._prefilter(text):
            return []
        results: list[RecognizerResult] = self._inner.analyze(
            text, entities, cast(NlpArtifacts, nlp_artifacts)
        )
        for result in results:  # let Presidio's context enhancer find this wrapper
            if result.recognition_metadata is None:
                result.recognition_metadata = {}
            result.recognition_metadata[RecognizerResult.RECOGNIZER_IDENTIFIER_KEY] = self.id
            result.recognition_metadata[RecognizerResult.RECOGNIZER_NAME_KEY] = self._label
        return results

    def enhance_using_context(
        self,
        text: str,
        raw_recognizer_results: list[RecognizerResult],
        other_raw_recognizer_results: list[RecognizerResult],
        nlp_artifacts: NlpArtifacts,
        context: list[str] | None = None,
    ) -> list[RecognizerResult]:
        enhanced: list[RecognizerResult] = self._inner.enhance_using_context(
            text, raw_recognizer_results, other_raw_recognizer_results, nlp_artifacts, context
        )
        return enhanced


#: Presidio's URL patterns try ``[a-z0-9.\-]{1,253}[.](?:<every TLD>)`` from every character of a host-like
#: run, so 20 KB of "ab.ab.ab..." took 30 s; anchored at the start of a run, each run is read once.
_HOST_RUN_START: Final = r"(?<![a-z0-9.\-])"
_SCHEMELESS_URL_PATTERNS: Final = frozenset({"Non schema URL"})


def linear_url_patterns(recognizer: PatternRecognizer) -> None:
    """Anchor the scheme-less URL pattern of Presidio's ``UrlRecognizer`` at host-run starts.

    A match that started inside a run of host characters could also start at the run's start
    (every character between is a host character), so no URL is lost.
    """
    patterns: list[Pattern] = []
    for pattern in cast(list[Pattern], getattr(recognizer, "patterns")):  # noqa: B009  # untyped in Presidio
        regex = pattern.regex
        if pattern.name in _SCHEMELESS_URL_PATTERNS and regex.startswith("(?i)"):
            regex = "(?i)" + _HOST_RUN_START + regex[len("(?i)") :]
        patterns.append(Pattern(pattern.name, regex, pattern.score))
    setattr(recognizer, "patterns", patterns)  # noqa: B010  # Presidio's attribute is untyped


def prefiltered(recognizer: EntityRecognizer) -> EntityRecognizer:
    if type(recognizer).__name__ == "UrlRecognizer" and isinstance(recognizer, PatternRecognizer):
        linear_url_patterns(recognizer)
    check = PREFILTERS.get(type(recognizer).__name__)
    if check is None:
        return recognizer
    return PrefilteredRecognizer(inner=recognizer, prefilter=check)
