"""The offline analyser: Presidio on preloaded spaCy pipelines plus hushdb's recognizers.

``PiiEngine.create()`` returns the one engine per spaCy model of this process;
the expensive part (spaCy, Presidio registry) loads on first use, under a lock.
``analyse_many`` normalises every text, decides its language, runs English NER
in batches through ``nlp.pipe`` (only for texts a cheap pre-filter says could
hold a named entity), then Presidio's recognizers with those artifacts, and maps
every span back to the original text.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Final

from presidio_analyzer import AnalyzerEngine, EntityRecognizer, RecognizerResult
from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer
from presidio_analyzer.nlp_engine import NlpArtifacts

from core.config import DEFAULT_SPACY_MODEL
from core.errors import HushError
from core.pii.analysis import (
    IDENTIFIER,
    QUASI_IDENTIFIER,
    SENSITIVE_CATEGORIES,
    Analysis,
    Finding,
    Language,
)
from core.pii.known_records import KnownRecords
from core.pii.language import detect_language, has_cjk
from core.pii.nlp import ZH_WORDS, OfflineSpacyNlpEngine, load_chinese, load_english
from core.pii.normaliser import NormalisedText, normalise
from core.pii.recognizers.en_identifiers import offline_tld_extractor
from core.pii.recognizers.in_context import propagate_people
from core.pii.recognizers.zh_names import propagate_chinese
from core.pii.registry import build_registry
from core.pii.zh_convert import to_simplified
from core.pii.zh_ner import DEFAULT_ZH_MODEL, ChineseTagger, chinese_tagger

DEFAULT_SCORE_THRESHOLD: Final = 0.35
DEFAULT_BATCH_SIZE: Final = 128
#: Longest run without whitespace handed to spaCy's English tokenizer as it is (see tokenizer_safe).
LONG_RUN: Final = 64
QUASI_TYPES: Final = frozenset(
    {"DATE_TIME", "LOCATION", "ORGANIZATION", "NRP", "TITLE", "AGE", "PROPER_NOUN"}
)
_SENSITIVE_BY_TYPE: Final = {c.upper(): c for c in SENSITIVE_CATEGORIES}
# Uppercase letter not at the start of a sentence, or a digit: only then can the
# small English NER model find a name, place, organisation or date worth running it for.
_NER_HINT: Final = re.compile(r"[0-9]|(?<![.!?\n:;\"'(]\s)(?<![.!?\n:;\"'(])(?<!^)[A-Z]|^[A-Z][a-z]*[A-Z]")


_DATE_ANCHOR: Final = re.compile(
    r"[0-9]|\b(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|"
    r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?|mon(?:day)?|tue(?:s(?:day)?)?|wed(?:nesday)?|"
    r"thu(?:r(?:s(?:day)?)?)?|fri(?:day)?|sat(?:urday)?|sun(?:day)?)\b|[年月日号]",
    re.IGNORECASE,
)


# Business and banking abbreviations that the small NER model takes for organisations.
_COMMON_ACRONYMS: Final = frozenset(
    "iban ssn atm tv asap pin ceo cfo cto coo vat gdpr faq pdf url usb sms api id ok nb ps rsvp eta hr qa "
    "kyc aml sla kpi roi crm erp b2b b2c diy fyi aka tbd tba n/a iso swift bic ach eft pos otp cvv".split()
)


def is_identifying(entity_type: str, value: str) -> bool:
    """Relative or seasonal dates ("last month", "winter") identify nobody and are kept, and so are
    everyday abbreviations ("ATM", "IBAN") that NER labels as organisations."""
    if entity_type == "ORGANIZATION":
        return value.strip().lower() not in _COMMON_ACRONYMS
    return entity_type != "DATE_TIME" or _DATE_ANCHOR.search(value) is not None


def category_of(entity_type: str) -> str:
    if entity_type in _SENSITIVE_BY_TYPE:
        return _SENSITIVE_BY_TYPE[entity_type]
    if entity_type in QUASI_TYPES:
        return QUASI_IDENTIFIER
    return IDENTIFIER


_SEGMENT: Final = re.compile(r"[^.!?。！？；;\n]*(?:[.!?。！？；;]+|\n+|$)")


def cjk_segments(text: str) -> list[tuple[int, int]]:
    """[start, end) of the sentences of ``text`` that hold Chinese characters, neighbours joined."""
    out: list[tuple[int, int]] = []
    for m in _SEGMENT.finditer(text):
        if m.start() == m.end() or not has_cjk(m.group(0)):
            continue
        if out and out[-1][1] == m.start():
            out[-1] = (out[-1][0], m.end())
        else:
            out.append(m.span())
    return out


_LONG_RUN: Final = re.compile(rf"\S{{{LONG_RUN}}}")
_RUN_CUT: Final = re.compile(rf"(\S{{{LONG_RUN - 1}}})\S")


#: A stretch of at least NO_LETTER_RUN characters with no letter at all (digits, punctuation, spaces).
NO_LETTER_RUN: Final = 32
_NO_LETTERS: Final = re.compile(rf"[\W\d_]{{{NO_LETTER_RUN},}}+")


def tokenizer_safe(text: str) -> str:
    """``text`` for spaCy's English pipeline, same length (offsets hold; recognizers read the original).

    * In a run of more than LONG_RUN characters without a space (emoji, symbols, a pasted blob), every
      LONG_RUN-th character becomes a space.  The tokenizer strips affixes one at a time and rescans the
      rest, so its time grows with the square of such a run (20 KB of emoji: tens of seconds).
    * A stretch of NO_LETTER_RUN or more characters without a letter (``1-1-1…``, a table of numbers)
      becomes spaces: it holds no name, place or organisation for the NER model to find, and as tokens it
      cost the model a second per 20 KB.  The pattern recognizers (phones, cards, dates) still read it.
    """
    if _NO_LETTERS.search(text) is not None:
        text = _NO_LETTERS.sub(lambda m: " " * len(m.group()), text)
    if _LONG_RUN.search(text) is None:
        return text
    return _RUN_CUT.sub(lambda m: m.group(1) + " ", text)


#: Findings in one note above which Presidio's context enhancer is skipped (see BoundedContextEnhancer).
MAX_CONTEXT_RESULTS: Final = 256


class BoundedContextEnhancer(LemmaContextAwareEnhancer):
    """Presidio's context enhancer, skipped when a note yields more than MAX_CONTEXT_RESULTS findings.

    The enhancer deep-copies every finding and scans the note's tokens around each one, so 20 KB of
    ``12345678 12345678 …`` (thousands of digit findings) cost two seconds in it alone.  Context only
    raises scores; a note with that many findings (a pasted table of numbers) keeps its findings at
    their base scores, which for phone numbers and cards are above the threshold.
    """

    def enhance_using_context(
        self,
        text: str,
        raw_results: list[RecognizerResult],
        nlp_artifacts: NlpArtifacts,
        recognizers: list[EntityRecognizer],
        context: list[str] | None = None,
    ) -> list[RecognizerResult]:
        if len(raw_results) > MAX_CONTEXT_RESULTS:
            return list(raw_results)
        enhanced: list[RecognizerResult] = super().enhance_using_context(
            text, raw_results, nlp_artifacts, recognizers, context
        )
        return enhanced


def needs_ner(text: str) -> bool:
    return _NER_HINT.search(text) is not None


@dataclass(frozen=True, slots=True)
class _Loaded:
    analyzer: AnalyzerEngine
    nlp: OfflineSpacyNlpEngine
    zh: ChineseTagger


class PiiEngine:
    """Finds personal and sensitive content; build with :meth:`create`."""

    _shared: ClassVar[dict[tuple[str, str], PiiEngine]] = {}
    _shared_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(
        self,
        *,
        spacy_model: str = DEFAULT_SPACY_MODEL,
        zh_model: str = DEFAULT_ZH_MODEL,
        score_threshold: float = DEFAULT_SCORE_THRESHOLD,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> None:
        self._spacy_model = spacy_model
        self._zh_model = zh_model
        self._score_threshold = score_threshold
        self._batch_size = batch_size
        self._loaded: _Loaded | None = None
        self._lock = threading.Lock()

    @classmethod
    def create(cls, *, spacy_model: str = DEFAULT_SPACY_MODEL, zh_model: str = DEFAULT_ZH_MODEL) -> PiiEngine:
        """The process-wide engine for ``spacy_model`` and the Chinese ``zh_model`` (loaded lazily)."""
        with cls._shared_lock:
            engine = cls._shared.get((spacy_model, zh_model))
            if engine is None:
                engine = cls(spacy_model=spacy_model, zh_model=zh_model)
                cls._shared[(spacy_model, zh_model)] = engine
            return engine

    @property
    def spacy_model(self) -> str:
        return self._spacy_model

    @property
    def zh_model(self) -> str:
        return self._zh_model

    def preload(self) -> None:
        """Load spaCy and Presidio now (otherwise done by the first analysis)."""
        self._load()

    def _load(self) -> _Loaded:
        loaded = self._loaded
        if loaded is not None:
            return loaded
        with self._lock:
            if self._loaded is None:
                nlp = OfflineSpacyNlpEngine(
                    pipelines={"en": load_english(self._spacy_model), "zh": load_chinese()}
                )
                zh = chinese_tagger(self._zh_model)
                try:
                    registry = build_registry(nlp_engine=nlp, extractor=offline_tld_extractor())
                    analyzer = AnalyzerEngine(
                        registry=registry,
                        nlp_engine=nlp,
                        supported_languages=["en", "zh"],
                        default_score_threshold=self._score_threshold,
                        context_aware_enhancer=BoundedContextEnhancer(),
                    )
                except (ValueError, TypeError, KeyError, OSError) as exc:
                    raise HushError("the PII analyser could not be built") from exc
                self._loaded = _Loaded(analyzer=analyzer, nlp=nlp, zh=zh)
            return self._loaded

    def analyse(self, text: str, *, lang: str = "auto", known: KnownRecords | None = None) -> Analysis:
        return self.analyse_many([text], lang=lang, known=known)[0]

    def analyse_many(
        self, texts: Sequence[str], *, lang: str = "auto", known: KnownRecords | None = None
    ) -> list[Analysis]:
        loaded = self._load()
        norms = [normalise(t) for t in texts]
        langs: list[Language] = [detect_language(n.text, lang) for n in norms]
        en_idx = [i for i, lg in enumerate(langs) if lg != "zh"]
        zh_idx = [i for i, lg in enumerate(langs) if lg != "en"]
        en_arts = self._english_artifacts(loaded, [norms[i].text for i in en_idx])
        raw: list[list[RecognizerResult]] = [[] for _ in texts]
        for i, art in zip(en_idx, en_arts, strict=True):
            found = self._run(loaded, norms[i].text, "en", art)
            if langs[i] == "mixed":
                found = [r for r in found if not has_cjk(norms[i].text[r.start : r.end])]
            people = [(r.start, r.end) for r in found if r.entity_type == "PERSON"]
            found.extend(
                RecognizerResult("PERSON", s, e, 0.5) for s, e in propagate_people(norms[i].text, people)
            )
            raw[i].extend(found)
        for i in zh_idx:
            if langs[i] == "zh":
                raw[i].extend(self._chinese(loaded, norms[i].text))
                continue
            # mixed: English NER covered the Latin text; the Chinese model reads the parts with Chinese
            for start, end in cjk_segments(norms[i].text):
                raw[i].extend(
                    RecognizerResult(r.entity_type, r.start + start, r.end + start, r.score)
                    for r in self._chinese(loaded, norms[i].text[start:end])
                    if r.entity_type != "PROPER_NOUN"
                )
        return [
            Analysis.build(language=langs[i], findings=_findings(norms[i], raw[i], known))
            for i in range(len(texts))
        ]

    def _chinese(self, loaded: _Loaded, text: str) -> list[RecognizerResult]:
        """Traditional characters become Simplified (same length, so offsets hold), the Chinese model
        tags the words, the zh recognizers run, and a name or place found once is found everywhere."""
        simplified = to_simplified(text)
        art = loaded.nlp.chinese_artifacts(simplified, loaded.zh.tag(simplified))
        found = self._run(loaded, simplified, "zh", art)
        found.extend(propagate_chinese(simplified, found, art.tokens.user_data.get(ZH_WORDS, [])))
        return found

    def _english_artifacts(self, loaded: _Loaded, texts: list[str]) -> list[NlpArtifacts]:
        arts: list[NlpArtifacts | None] = [None] * len(texts)
        ner_idx = [i for i, t in enumerate(texts) if needs_ner(t)]
        nlp = loaded.nlp.get_nlp("en")
        safe = [tokenizer_safe(t) for t in texts]
        try:
            docs = nlp.pipe((safe[i] for i in ner_idx), batch_size=self._batch_size)
            for i, doc in zip(ner_idx, docs, strict=True):
                arts[i] = loaded.nlp.artifacts(doc, "en")
        except (ValueError, TypeError, KeyError, IndexError, RuntimeError) as exc:
            raise HushError("spaCy failed on a note") from exc
        return [a if a is not None else loaded.nlp.tokens_only(safe[i], "en") for i, a in enumerate(arts)]

    def _run(self, loaded: _Loaded, text: str, language: str, art: NlpArtifacts) -> list[RecognizerResult]:
        try:
            results: list[RecognizerResult] = loaded.analyzer.analyze(
                text=text, language=language, nlp_artifacts=art
            )
        except (ValueError, TypeError, KeyError, IndexError, AttributeError, RuntimeError) as exc:
            raise HushError("Presidio failed on a note") from exc
        return results


def _findings(
    norm: NormalisedText, raw: list[RecognizerResult], known: KnownRecords | None
) -> tuple[Finding, ...]:
    best: dict[tuple[str, int, int], Finding] = {}

    def keep(f: Finding) -> None:
        key = (f.type, f.start, f.end)
        old = best.get(key)
        if old is None or old.score < f.score:
            best[key] = f

    for r in raw:
        start, end = norm.to_original(r.start, r.end)
        if start < end and is_identifying(r.entity_type, norm.text[r.start : r.end]):
            keep(Finding(r.entity_type, category_of(r.entity_type), start, end, float(r.score)))
    if known is not None:
        for f in known.find(norm):
            keep(f)
    return _drop_contained(list(best.values()))


def _drop_contained(findings: list[Finding]) -> tuple[Finding, ...]:
    """Drop a finding contained in another of the same type with an equal or higher score."""
    findings.sort(key=lambda f: (f.type, f.start, -f.end, -f.score))
    kept: list[Finding] = []
    for f in findings:
        if any(
            k.type == f.type and k.start <= f.start and f.end <= k.end and k.score >= f.score
            for k in kept[-8:]
        ):
            continue
        kept.append(f)
    return tuple(kept)
