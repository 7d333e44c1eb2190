"""The Presidio recognizer registry that holds Presidio's English defaults and hushdb's recognizers."""

from __future__ import annotations

from collections.abc import Iterable

import tldextract
from presidio_analyzer import EntityRecognizer, PatternRecognizer, RecognizerRegistry
from presidio_analyzer.predefined_recognizers import CreditCardRecognizer, EmailRecognizer, PhoneRecognizer

from core.pii.nlp import OfflineSpacyNlpEngine
from core.pii.recognizers.cn_personal import cn_personal_recognizers
from core.pii.recognizers.contact_block import ContactBlockRecognizer
from core.pii.recognizers.en_identifiers import (
    OfflineEmailRecognizer,
    en_identifier_recognizer,
    offline_tld_extractor,
)
from core.pii.recognizers.in_context import InContextRecognizer
from core.pii.recognizers.obfuscated import obfuscated_recognizer
from core.pii.recognizers.phone import BoundedPhoneRecognizer
from core.pii.recognizers.prefiltered import PrefilteredRecognizer, prefiltered
from core.pii.recognizers.sensitive import SensitiveRecognizer
from core.pii.recognizers.zh_entities import ChineseEntityRecognizer
from core.pii.recognizers.zh_names import ChineseNameRecognizer

LANGUAGES = ("en", "zh")
PHONE_REGIONS = ("GB", "US", "CN", "HK", "TW", "SG", "IE", "DE", "FR", "IN", "CA", "AU", "BR", "IL")


def hush_recognizers(*, extractor: tldextract.TLDExtract) -> list[EntityRecognizer]:
    """hushdb's own recognizers for both languages (no Presidio defaults)."""
    found: list[EntityRecognizer] = []
    for lang in LANGUAGES:
        found.append(SensitiveRecognizer(language=lang))
        found.append(obfuscated_recognizer(lang))
        found.append(prefiltered(OfflineEmailRecognizer(language=lang, extractor=extractor)))
    found.append(en_identifier_recognizer())
    found.append(ContactBlockRecognizer(language="en"))
    found.append(InContextRecognizer(language="en"))
    found.extend(cn_personal_recognizers())
    found.append(ChineseEntityRecognizer())
    found.append(ChineseNameRecognizer())
    found.append(prefiltered(CreditCardRecognizer(supported_language="zh")))
    return found


def compile_patterns(recognizers: Iterable[EntityRecognizer]) -> int:
    """Compile now the regular expressions that Presidio's pattern recognizers compile on first use
    (with the flags ``analyze`` will use), so that cost falls at start-up; returns how many recognizers."""
    compiled = 0
    for recognizer in recognizers:
        inner = recognizer.inner if isinstance(recognizer, PrefilteredRecognizer) else recognizer
        if not isinstance(inner, PatternRecognizer):
            continue
        inner.analyze(text="", entities=list(inner.supported_entities))  # compiles, matches nothing
        compiled += 1
    return compiled


def build_registry(
    *, nlp_engine: OfflineSpacyNlpEngine, extractor: tldextract.TLDExtract
) -> RecognizerRegistry:
    """Presidio's English defaults (pre-filtered, offline email, more phone regions) plus hushdb's."""
    registry = RecognizerRegistry(supported_languages=list(LANGUAGES))
    registry.load_predefined_recognizers(languages=["en"], nlp_engine=nlp_engine)
    kept: list[EntityRecognizer] = []
    for recognizer in registry.recognizers:
        if recognizer.supported_language != "en":
            continue
        if isinstance(recognizer, EmailRecognizer):
            continue  # replaced by the offline one
        if isinstance(recognizer, PhoneRecognizer):
            recognizer = BoundedPhoneRecognizer(supported_regions=PHONE_REGIONS)
        kept.append(prefiltered(recognizer))
    kept.extend(hush_recognizers(extractor=extractor))
    registry.recognizers = kept
    return registry


__all__ = ["build_registry", "compile_patterns", "hush_recognizers", "offline_tld_extractor"]
