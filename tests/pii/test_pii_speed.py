"""The shortcuts on the write path (issue 13: English analysis speed) give exactly Presidio's results."""

from __future__ import annotations

import sys

import pytest
from presidio_analyzer import (
    AnalysisExplanation,
    AnalyzerEngine,
    Pattern,
    PatternRecognizer,
    RecognizerResult,
)
from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer

from core.pii import PiiEngine
from core.pii.engine import WARM_UP_TEXTS, BoundedContextEnhancer, HushAnalyzerEngine, needs_ner
from core.pii.normaliser import normalise
from core.pii.recognizers.base import has_digit, is_caseless
from core.pii.recognizers.prefiltered import PrefilteredRecognizer
from core.pii.zh_convert import to_simplified

# Context words next to values (phone, card, SSN, licence...), Chinese, a mixed note, and none at all.
TEXTS = (
    "Call me on my phone 07700 900123 or mobile +1 212 555 0101 tomorrow.",
    "Card number 4111 1111 1111 1111, expiry 03/27; social security number 078-05-1120.",
    "Driver license D1234567 and passport 912803456, IBAN GB33BUKB20201555555555.",
    "Email anna.berg@example.org, website https://example.org, server ip 10.0.0.1.",
    "Mrs Patel said her mother died last month; Tom Hughes will call from Leeds.",
    "No personal data here at all, just a reminder about the winter catalogue.",
    *WARM_UP_TEXTS,
)
ZH_TEXTS = (
    "客户王芳说她下周搬到广州市越秀区中山路15号，电话13800138000。",
    "陳先生得了癌症，正在化療，通話請盡量簡短。",
)


def _key(results: list[RecognizerResult]) -> list[tuple[str, int, int, float]]:
    return sorted((r.entity_type, r.start, r.end, round(r.score, 6)) for r in results)


@pytest.fixture(scope="module")
def analyzers(engine: PiiEngine) -> tuple[HushAnalyzerEngine, AnalyzerEngine]:
    engine.preload()
    loaded = engine._load()
    ours = loaded.analyzer
    assert isinstance(ours, HushAnalyzerEngine)
    plain = AnalyzerEngine(
        registry=ours.registry,
        nlp_engine=loaded.nlp,
        supported_languages=["en", "zh"],
        default_score_threshold=ours.default_score_threshold,
        context_aware_enhancer=LemmaContextAwareEnhancer(),
    )
    return ours, plain


def test_hushdb_analyser_finds_what_presidio_finds(
    engine: PiiEngine, analyzers: tuple[HushAnalyzerEngine, AnalyzerEngine]
) -> None:
    ours, plain = analyzers
    loaded = engine._load()
    texts = [normalise(t).text for t in TEXTS]
    arts = engine._english_artifacts(loaded, texts)
    enhanced = 0
    for text, art in zip(texts, arts, strict=True):
        mine = ours.analyze(text=text, language="en", nlp_artifacts=art)
        assert _key(mine) == _key(plain.analyze(text=text, language="en", nlp_artifacts=art)), text
        assert ours.get_supported_entities("en") == ours.get_supported_entities("en")
        assert sorted(ours.get_supported_entities("en")) == sorted(plain.get_supported_entities("en"))
        enhanced += sum(
            bool((r.recognition_metadata or {}).get(RecognizerResult.IS_SCORE_ENHANCED_BY_CONTEXT_KEY))
            or r.score > 0.5
            for r in mine
        )
    assert enhanced  # context words did raise scores: the comparison exercised the enhancer
    for raw in ZH_TEXTS:
        text = to_simplified(normalise(raw).text)
        art = loaded.nlp.chinese_artifacts(text, loaded.zh.tag(text))
        mine = ours.analyze(text=text, language="zh", nlp_artifacts=art)
        assert _key(mine) == _key(plain.analyze(text=text, language="zh", nlp_artifacts=art)), raw


def test_bounded_enhancer_matches_presidio_below_the_cap(engine: PiiEngine) -> None:
    loaded = engine._load()
    recognizers = loaded.analyzer.registry.get_recognizers("en", all_fields=True)
    text = normalise(TEXTS[0]).text
    art = engine._english_artifacts(loaded, [text])[0]
    raw = [
        RecognizerResult(
            "PHONE_NUMBER",
            m_start,
            m_end,
            0.4,
            analysis_explanation=AnalysisExplanation(recognizer=type(rec).__name__, original_score=0.4),
            recognition_metadata={
                RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: rec.id,
                RecognizerResult.RECOGNIZER_NAME_KEY: type(rec).__name__,
            },
        )
        for rec in recognizers
        for m_start, m_end in ((20, 32), (43, 58))
    ]
    bounded = BoundedContextEnhancer().enhance_using_context(text, raw, art, recognizers)
    presidio = LemmaContextAwareEnhancer().enhance_using_context(text, raw, art, recognizers)
    assert [(r.start, r.end, r.score) for r in bounded] == [(r.start, r.end, r.score) for r in presidio]
    assert any(r.score > 0.4 for r in bounded)  # recognizers with context words were enhanced
    assert all(r.score == 0.4 for r in raw)  # the findings handed in are not changed


def test_preload_builds_every_pattern_and_is_idempotent(engine: PiiEngine) -> None:
    engine.preload()
    engine.preload()
    patterns = 0
    for recognizer in engine._load().analyzer.registry.recognizers:
        inner = recognizer.inner if isinstance(recognizer, PrefilteredRecognizer) else recognizer
        # (a recognizer with its own analyze, such as IBAN's, compiles through the regex module's cache)
        if isinstance(inner, PatternRecognizer) and type(inner).analyze is PatternRecognizer.analyze:
            found: list[Pattern] = getattr(inner, "patterns")  # noqa: B009  # untyped in Presidio
            for pattern in found:
                patterns += 1
                assert pattern.compiled_regex is not None, (type(inner).__name__, pattern.name)
                assert pattern.compiled_with_flags == inner.global_regex_flags
    assert patterns > 20


def test_has_digit_is_str_isdigit_for_every_character() -> None:
    wrong = [cp for cp in range(sys.maxunicode + 1) if has_digit(chr(cp)) != chr(cp).isdigit()]
    assert wrong == []
    assert (
        has_digit("call ²") and has_digit("①") and has_digit("十一 ４") and not has_digit("no digits, 十一")
    )


@pytest.mark.parametrize(
    "text", ["plain words", "One Capital", "ÉCOLE", "école", "straße", "ǅemal", "Ωmega", "王芳", "", "123"]
)
def test_is_caseless(text: str) -> None:
    assert is_caseless(text) == (not any(c.isupper() for c in text))


@pytest.mark.parametrize(
    ("text", "needed"),
    [
        ("客户想要冬季产品目录。 Follow up next week.", False),  # a capital after 。 starts a sentence
        ("客户想要冬季产品目录。Follow up next week.", False),
        ("客户想要冬季产品目录。 Then Mary called.", True),
        ("Follow up next week.", False),
        ("Follow up with Mary next week.", True),
        ("call back on 07700 900123", True),
    ],
)
def test_needs_ner(text: str, needed: bool) -> None:
    assert needs_ner(normalise(text).text) is needed
