"""English identifiers Presidio does not ship: street addresses, UK postcodes,
US ZIP codes after a state, honorific titles and ages; plus an offline email
recognizer (Presidio's validates domains through tldextract, whose default
extractor downloads the public suffix list)."""

from __future__ import annotations

import re
from typing import Final

import tldextract
from presidio_analyzer import RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from presidio_analyzer.predefined_recognizers import EmailRecognizer

from core.pii.recognizers.base import Rule, RuleRecognizer

_SUFFIX: Final = (
    r"(?:Street|St|Road|Rd|Avenue|Ave|Av|Lane|Ln|Drive|Dr|Boulevard|Blvd|Close|Way|Court|Ct|Place|Pl|"
    r"Terrace|Crescent|Cres|Gardens|Square|Sq|Parkway|Pkwy|Highway|Hwy|Row|Hill|Grove|Walk|Mews|Trail|"
    r"Circle|Cir|Loop|Plaza|Alley|Broadway|Causeway|Esplanade|Parade|Rise|View|Green|Strasse|Straße)"
)
_UNIT: Final = r"(?:,?\s+(?:Apt|Apartment|Suite|Ste|Unit|Flat|Floor|#)\.?\s*[A-Za-z0-9\-]+)?"
STREET: Final = re.compile(
    rf"(?<![\w-])\d{{1,5}}[A-Za-z]?(?:[-/]\d{{1,5}})?,?\s+(?:[A-Z][A-Za-z'\-]*\.?\s+){{1,4}}{_SUFFIX}\.?{_UNIT}(?![\w])"
)
_NAMED_HOUSE: Final = re.compile(
    rf"(?<![\w-])(?:Flat|Apartment|Apt|Unit)\s+\d{{1,4}}[A-Za-z]?,?\s+(?:[A-Z][A-Za-z'\-]*\s+){{1,3}}"
    rf"(?:House|Court|Mansions|Building|Tower|Lodge|{_SUFFIX})(?![\w])"
)
# street words of other European languages, before the name (Rue, Via, Calle ...) or glued after it (-straße);
# a glued name is one word of at most 48 characters, started where the hyphenated word starts (linear)
_STREET_FIRST: Final = re.compile(
    r"(?<![\w])(?:\d{1,5}[a-z]?,?\s+)?(?:Rue|Rua|Via|Viale|Piazza|Corso|Calle|Carrer|Avenida|Avda\.|Av\.|Paseo|Camino|"
    r"Plaza|Praça|Largo|Estrada|Travessa|Rodovia|Boulevard|Chemin|Place|Allée|Impasse|Quai|ul\.|ulica)"
    r"\s+(?:[\w'.\-]+\s+){0,5}?(?:\d{1,5}[a-z]?|[\w'\-]+(?=,\s*\d))(?![\w])",
    re.IGNORECASE,
)
_STREET_GLUED: Final = re.compile(
    r"(?<![\w\-])[A-ZÄÖÜ][\w\-]{0,47}?(?:straße|strasse|str\.|weg|platz|gasse|allee|ring|damm|laan|straat|gracht|vej|gade|"
    r"gatan|gata|gate|veien|katu|tie)\s+\d{1,5}[a-z]?(?![\w])"
)
_PO_BOX: Final = re.compile(r"(?<![\w])P\.?\s?O\.?\s+Box\s+\d{1,6}(?![\w])", re.IGNORECASE)
_UK_POSTCODE: Final = re.compile(r"(?<![\w])[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}(?![\w])")
_US_ZIP: Final = re.compile(r"(?:(?<=[A-Z]{2} )|(?<=[A-Z]{2}, )|(?<=[A-Za-z], ))\d{5}(?:-\d{4})?(?![\w])")
_TITLE: Final = re.compile(
    r"(?<![\w])(?:Mr|Mrs|Ms|Mx|Miss|Dr|Prof|Sir|Dame|Rev|Revd|Lady|Lord)\.?(?=\s+[A-Z])"
)
_AGE: Final = re.compile(
    r"(?<![\w])(?:aged?\s+\d{1,3}|\d{1,3}[- ]years?[- ]old|\d{1,3}\s?(?:yo|y/o))(?![\w])", re.IGNORECASE
)


def en_identifier_recognizer() -> RuleRecognizer:
    return RuleRecognizer(
        name="HushEnglishIdentifiers",
        language="en",
        rules=[
            Rule("ADDRESS", STREET, 0.75),
            Rule("ADDRESS", _NAMED_HOUSE, 0.7),
            Rule("ADDRESS", _PO_BOX, 0.7),
            Rule("ADDRESS", _STREET_FIRST, 0.6),
            Rule("ADDRESS", _STREET_GLUED, 0.7),
            Rule("ZIP_CODE", _UK_POSTCODE, 0.7),
            Rule("ZIP_CODE", _US_ZIP, 0.6),
            Rule("TITLE", _TITLE, 0.6),
            Rule("AGE", _AGE, 0.7),
        ],
    )


def offline_tld_extractor() -> tldextract.TLDExtract:
    """A tldextract extractor that uses the bundled suffix-list snapshot: no URL, no cache dir."""
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True)


class OfflineEmailRecognizer(EmailRecognizer):
    """Presidio's email recognizer whose domain check never touches the network."""

    def __init__(self, *, language: str, extractor: tldextract.TLDExtract) -> None:
        self._extractor = extractor
        super().__init__(supported_language=language, name=f"HushEmail_{language}")

    def validate_result(self, pattern_text: str) -> bool:
        return bool(self._extractor(pattern_text).fqdn)

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
        regex_flags: int | None = None,
    ) -> list[RecognizerResult]:
        results: list[RecognizerResult] = super().analyze(text, entities, nlp_artifacts, regex_flags)
        for (
            r
        ) in results:  # Unicode \w lets "邮箱abc@x.cn" match from the Chinese word; keep the ASCII address
            while r.start < r.end and not text[r.start].isascii():
                r.start += 1
        return [r for r in results if r.start < r.end]
