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
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Final, cast

from presidio_analyzer import AnalyzerEngine, EntityRecognizer, RecognizerResult
from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer
from presidio_analyzer.nlp_engine import NlpArtifacts
from spacy.tokens import Doc

from core.config import DEFAULT_SPACY_MODEL
from core.errors import HushError
from core.forksafe import ForkSafeLock
from core.pii.analysis import (
    IDENTIFIER,
    QUASI_IDENTIFIER,
    SENSITIVE_CATEGORIES,
    Analysis,
    FactExtent,
    Finding,
    Language,
    year_kept,
)
from core.pii.known_records import KnownRecords
from core.pii.language import detect_language, has_cjk
from core.pii.nlp import (
    MAX_NER_TOKENS,
    UNREAD_SCORE,
    ZH_WORDS,
    NerPlan,
    OfflineSpacyNlpEngine,
    load_chinese,
    load_english,
    merge_pieces,
    plan_ner,
    unread_proper_nouns,
)
from core.pii.normaliser import NormalisedText, normalise
from core.pii.operators import ClauseIndex
from core.pii.recognizers.en_identifiers import offline_tld_extractor
from core.pii.recognizers.in_context import propagate_people
from core.pii.recognizers.prefiltered import PrefilteredRecognizer
from core.pii.recognizers.zh_names import refine_chinese
from core.pii.registry import build_registry, compile_patterns
from core.pii.zh_convert import to_simplified
from core.pii.zh_fact import ZhFacts
from core.pii.zh_ner import DEFAULT_ZH_MODEL, ChineseTagger, Word, chinese_tagger

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
# A sentence also starts after a Chinese full stop 。 (the normaliser folds ！？：； to ASCII).
_NER_HINT: Final = re.compile(
    r"[0-9]|(?<![.!?\n:;\"'(。：；]\s)(?<![.!?\n:;\"'(。：；])(?<!^)[A-Z]|^[A-Z][a-z]*[A-Z]"
)


_DATE_ANCHOR: Final = re.compile(
    r"[0-9]|\b(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|"
    r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?|mon(?:day)?|tue(?:s(?:day)?)?|wed(?:nesday)?|"
    r"thu(?:r(?:s(?:day)?)?)?|fri(?:day)?|sat(?:urday)?|sun(?:day)?)\b|[年月日号]",
    re.IGNORECASE,
)


# A date to the day that ends with its year ("March 5, 2013", "Tuesday, 5th of March 2013", "03/05/2013")
# or starts with it ("2013-03-05"): group "md" is all but the year and the separator next to it.
_MONTH: Final = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|"
    r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_DAY: Final = r"(?:0?[1-9]|[12][0-9]|3[01])(?:st|nd|rd|th)?"
_YEAR: Final = r"(?:1[89]|20)[0-9]{2}"
_DAY_LEVEL: Final = rf"(?:\b{_MONTH}\s{{1,3}}{_DAY}|\b{_DAY}(?:\s{{1,3}}of)?\s{{1,3}}{_MONTH})"
_YEAR_LAST: Final = re.compile(
    rf"(?P<md>.{{0,24}}?{_DAY_LEVEL})(?:\s{{0,3}},\s{{0,3}}|\s{{1,3}}|\s{{0,3}},?\s{{0,3}}of\s{{1,3}})(?P<y>{_YEAR})"
    rf"|(?P<dm>[0-9]{{1,2}}([-/.])[0-9]{{1,2}})\4(?P<y2>{_YEAR})",
    re.IGNORECASE,
)
_YEAR_FIRST: Final = re.compile(
    rf"(?P<y>{_YEAR})([-/.])(?P<md>(?:0?[1-9]|1[0-2])\2(?:0?[1-9]|[12][0-9]|3[01]))"
)
#: Longest date value whose year is looked for (dates are short; longer values are masked whole).
_LONGEST_DATE: Final = 48


def without_year(entity_type: str, value: str) -> tuple[int, int]:
    """The part of a finding to mask: for a date to the day with its year written, the month and day
    without the year (HIPAA Safe Harbor, 45 CFR 164.514(b)(2)(i)(C), removes all elements of dates
    except the year; the year alone identifies nobody): "March 5, 2013" -> "March 5", "2013-03-05" ->
    "03-05".  Anything else (a date without a day or a year, a time with it, a month and year, a year
    that may tell an age over 89: see year_kept) whole."""
    whole = (0, len(value))
    if entity_type != "DATE_TIME" or len(value) > _LONGEST_DATE:
        return whole
    m = _YEAR_LAST.fullmatch(value)
    if m is not None:
        if m.group("md") is not None:
            return m.span("md") if year_kept(int(m.group("y"))) else whole
        a, b = (int(x) for x in re.split(r"[-/.]", m.group("dm")))
        day_month = 1 <= a <= 31 and 1 <= b <= 31 and min(a, b) <= 12
        return m.span("dm") if day_month and year_kept(int(m.group("y2"))) else whole
    m = _YEAR_FIRST.fullmatch(value)
    return m.span("md") if m is not None and year_kept(int(m.group("y"))) else whole


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


#: Characters of one note that the Chinese model reads at most (about 40 µs of CPU a character here):
#: every note of Chinese characters alone up to the 20 KB limit (6,826 characters) is read whole; Chinese
#: with ASCII between its characters ("A王" repeated, mixed notes) can reach 20,480.
MAX_ZH_MODEL_CHARS: Final = 8192
#: CJK symbols and punctuation (、。〈〉《》「」【】 …): no part of an English name, place or organisation.
_CJK_PUNCTUATION: Final = re.compile(r"[\u3000-\u303f]")
_CJK_RUN: Final = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]++")
_ZH_CUT_AFTER: Final = frozenset("。！？；!?;\n，,、：: ")
#: How far back from the budget a cut looks for punctuation or a space.
_ZH_CUT_BACK: Final = 64


def zh_model_cut(text: str, budget: int) -> int:
    """Where the Chinese model stops reading ``text``: its end, or just after the last punctuation or
    space in the _ZH_CUT_BACK characters before ``budget``, else at ``budget``."""
    if len(text) <= budget:
        return len(text)
    for i in range(budget - 1, max(0, budget - _ZH_CUT_BACK) - 1, -1):
        if text[i] in _ZH_CUT_AFTER:
            return i + 1
    return max(0, budget)


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
        if context:
            enhanced: list[RecognizerResult] = super().enhance_using_context(
                text, raw_results, nlp_artifacts, recognizers, context
            )
            return enhanced
        # Only findings of a recognizer with context words, not yet boosted, can change: Presidio's
        # enhancer deep-copies every finding of the note, so hand it those alone (most notes: none).
        with_context = {r.id for r in recognizers if r.context}
        todo = [i for i, r in enumerate(raw_results) if _may_enhance(r, with_context)]
        out = list(raw_results)
        if todo:
            changed = super().enhance_using_context(
                text, [raw_results[i] for i in todo], nlp_artifacts, recognizers, context
            )
            for i, result in zip(todo, changed, strict=True):
                out[i] = result
        return out


def _may_enhance(result: RecognizerResult, with_context: set[str]) -> bool:
    meta = result.recognition_metadata
    return bool(
        meta
        and meta.get(RecognizerResult.RECOGNIZER_IDENTIFIER_KEY) in with_context
        and not meta.get(RecognizerResult.IS_SCORE_ENHANCED_BY_CONTEXT_KEY)
    )


def _enhances(recognizer: EntityRecognizer) -> bool:
    """Whether the recognizer (or the one a pre-filter wraps) overrides Presidio's do-nothing
    ``EntityRecognizer.enhance_using_context``."""
    inner = recognizer.inner if isinstance(recognizer, PrefilteredRecognizer) else recognizer
    return type(inner).enhance_using_context is not EntityRecognizer.enhance_using_context


class HushAnalyzerEngine(AnalyzerEngine):
    """Presidio's analyser with the entity list of a language computed once per registry content.

    ``AnalyzerEngine.analyze`` rebuilds the list of every supported entity (a pass over every
    recognizer, with logging) for each note; hushdb's registry is fixed once built.  Context
    enhancement is Presidio's, with its bookkeeping linear in the findings (see below).
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._entities: dict[tuple[str | None, int, int], list[str]] = {}
        self._enhances: dict[str, bool] = {}  # recognizer id -> overrides enhance_using_context

    def _enhance_using_context(
        self,
        text: str,
        raw_results: list[RecognizerResult],
        nlp_artifacts: NlpArtifacts,
        recognizers: list[EntityRecognizer],
        context: list[str] | None = None,
    ) -> list[RecognizerResult]:
        """Presidio's step, same result: findings grouped by recognizer (in the recognizers' order), each
        group passed through its recognizer's own ``enhance_using_context``, then the context enhancer.

        Presidio splits the findings once per recognizer (twice: its own and the others) although no
        recognizer here overrides the default, which returns its findings unchanged; the split is done
        once here and a recognizer's method is called only when it does something.
        """
        key = RecognizerResult.RECOGNIZER_IDENTIFIER_KEY
        by_id: dict[str, list[RecognizerResult]] = {}
        for r in raw_results:
            by_id.setdefault(r.recognition_metadata[key], []).append(r)
        results: list[RecognizerResult] = []
        for recognizer in recognizers:
            own = by_id.get(recognizer.id, [])
            enhances = self._enhances.get(recognizer.id)
            if enhances is None:
                enhances = self._enhances[recognizer.id] = _enhances(recognizer)
            if enhances:
                own = recognizer.enhance_using_context(
                    text=text,
                    raw_recognizer_results=own,
                    other_raw_recognizer_results=[
                        r for r in raw_results if r.recognition_metadata[key] != recognizer.id
                    ],
                    nlp_artifacts=nlp_artifacts,
                    context=context,
                )
            results.extend(own)
        enhanced: list[RecognizerResult] = self.context_aware_enhancer.enhance_using_context(
            text=text,
            raw_results=results,
            nlp_artifacts=nlp_artifacts,
            recognizers=recognizers,
            context=context,
        )
        return enhanced

    def get_supported_entities(self, language: str | None = None) -> list[str]:
        recognizers = cast(list[EntityRecognizer], self.registry.recognizers)
        key = (language, id(recognizers), len(recognizers))
        entities = self._entities.get(key)
        if entities is None:
            entities = list(super().get_supported_entities(language))
            cache = dict(self._entities) if len(self._entities) < 8 else {}
            cache[key] = entities
            self._entities = cache  # replaced whole: readers in other threads see one or the other
        return list(entities)


def needs_ner(text: str) -> bool:
    return _NER_HINT.search(text) is not None


#: Notes written for :meth:`PiiEngine.preload` to exercise every recognizer once (made up; no real person).
WARM_UP_TEXTS: Final[tuple[str, ...]] = (
    "Mr Warren Upton (w.upton@example.org, +44 20 7946 0000, 555-0100) paid with 4111 1111 1111 1111 on "
    "3 March 2020; see https://www.example.org/a, IBAN GB33BUKB20201555555555, IP 192.0.2.1.",
    "ｗａｒｍ ｕｐ: Jоhn's mother passed away; he is in hospital. Dr. Smith, 12 High Street, Leeds LS1 4AP.",
    "王先生說他住在北京市朝陽區建國路1號，電話13800138000，身份证11010519491231002X。",
    "Customer 李咏 called about the order from Shanghai; 已发送目录。Follow up next week.",
    "客户Eric说沙发有点cheap，价格要Hold住。",  # English words in a Chinese note: the word lists load
)


@dataclass(frozen=True, slots=True)
class _Loaded:
    analyzer: AnalyzerEngine
    nlp: OfflineSpacyNlpEngine
    zh: ChineseTagger


class PiiEngine:
    """Finds personal and sensitive content; build with :meth:`create`."""

    _shared: ClassVar[dict[tuple[str, str], PiiEngine]] = {}
    _shared_lock: ClassVar[ForkSafeLock] = ForkSafeLock()

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
        # fork-safe: the import's prepare workers are forked, maybe while another thread loads
        self._lock = ForkSafeLock()
        self._warm = False
        self._warm_lock = ForkSafeLock()

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
        """Load spaCy, Presidio and the Chinese model now, and build what they otherwise build on first
        use: every recognizer's regular expressions, the public-suffix list, libphonenumber's region
        data, the look-alike table, OpenCC.  A server calls this at start-up so that the first notes
        written do not pay for it (about half a second); without it, analysis builds them as needed."""
        loaded = self._load()
        if self._warm:
            return
        with self._warm_lock:
            if not self._warm:
                compile_patterns(loaded.analyzer.registry.recognizers)
                self.analyse_many(WARM_UP_TEXTS)
                self._warm = True

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
                    analyzer = HushAnalyzerEngine(
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
        english = self._english(
            loaded,
            [norms[i].text for i in en_idx],
            [MAX_NER_TOKENS // 2 if langs[i] == "mixed" else MAX_NER_TOKENS for i in en_idx],
        )
        raw: list[list[RecognizerResult]] = [[] for _ in texts]
        for i, (art, unread) in zip(en_idx, english, strict=True):
            text = norms[i].text
            found = self._run(loaded, text, "en", art)
            # beyond the NER budget (a note of thousands of capitalised words): capitalised words are
            # tagged as they are (fail closed); names the model found elsewhere are propagated below
            found.extend(
                RecognizerResult("PROPER_NOUN", s, e, UNREAD_SCORE)
                for s, e in unread_proper_nouns(text, unread)
            )
            if langs[i] == "mixed":
                # the Chinese model reads the Chinese; an English finding never runs across Chinese
                # characters or Chinese punctuation ("…》9《Backtodecember》10《…" is no nationality)
                found = [
                    r
                    for r in found
                    if not has_cjk(text[r.start : r.end])
                    and _CJK_PUNCTUATION.search(text, r.start, r.end) is None
                ]
            people = [(r.start, r.end) for r in found if r.entity_type == "PERSON"]
            found.extend(RecognizerResult("PERSON", s, e, 0.5) for s, e in propagate_people(text, people))
            raw[i].extend(found)
        for i in zh_idx:
            if langs[i] == "zh":
                zh_found, zh_unread = self._chinese(loaded, norms[i].text)
                raw[i].extend(zh_found + zh_unread)
                continue
            # mixed: English NER covered the Latin text; the Chinese model reads the parts with Chinese,
            # on half the budget (the English model had the other half)
            budget = MAX_ZH_MODEL_CHARS // 2
            for start, end in cjk_segments(norms[i].text):
                zh_found, zh_unread = self._chinese(loaded, norms[i].text[start:end], budget)
                budget = max(0, budget - (end - start))
                raw[i].extend(
                    _shifted(r, start)
                    for r in [*(r for r in zh_found if r.entity_type != "PROPER_NOUN"), *zh_unread]
                )
        return [
            Analysis.build(language=langs[i], findings=_findings(norms[i], raw[i], known))
            for i in range(len(texts))
        ]

    def _chinese(
        self, loaded: _Loaded, text: str, budget: int = MAX_ZH_MODEL_CHARS
    ) -> tuple[list[RecognizerResult], list[RecognizerResult]]:
        """Traditional characters become Simplified (same length, so offsets hold), the Chinese model
        tags the words, the zh recognizers run, and a name or place found once is found everywhere.

        The model reads at most ``budget`` characters (cut at punctuation when it can); past them every
        character is a word of its own (the model-free ``rules`` reading: the patterns still run), and
        every run of Chinese characters there is returned apart, as a PROPER_NOUN (fail closed)."""
        simplified = to_simplified(text)
        cut = zh_model_cut(simplified, budget)
        words = loaded.zh.tag(simplified[:cut]) if cut > 0 else []
        if cut < len(simplified):
            words.extend(Word(i, i + 1, "x") for i in range(cut, len(simplified)))
        art = loaded.nlp.chinese_artifacts(simplified, words)
        found = self._run(loaded, simplified, "zh", art)
        unread = [
            RecognizerResult("PROPER_NOUN", m.start(), m.end(), UNREAD_SCORE)
            for m in _CJK_RUN.finditer(simplified, cut)
        ]
        words = art.tokens.user_data.get(ZH_WORDS, [])
        refined = refine_chinese(simplified, found, words)
        _attach_facts(simplified, refined, words)
        return refined, unread

    def _english_artifacts(self, loaded: _Loaded, texts: list[str]) -> list[NlpArtifacts]:
        return [art for art, _ in self._english(loaded, texts)]

    def _english(
        self, loaded: _Loaded, texts: list[str], budgets: Sequence[int] | None = None
    ) -> list[tuple[NlpArtifacts, tuple[tuple[int, int], ...]]]:
        """Artifacts of each English text, and the ranges of it that may hold a name but that the NER
        model did not read (beyond MAX_NER_TOKENS; see ``plan_ner``).

        The model reads each text whole when it is short enough (nearly every note), else its sentences
        that could hold a name, in order, up to the budget; every text's reading goes through one
        ``nlp.pipe`` so that short notes are batched."""
        nlp = loaded.nlp.get_nlp("en")
        safe = [tokenizer_safe(t) for t in texts]
        plans: list[NerPlan | None] = [None] * len(texts)
        inputs: list[Doc] = []
        for i, t in enumerate(texts):
            if not needs_ner(t):
                continue
            plan = plan_ner(nlp, safe[i], budget=MAX_NER_TOKENS if budgets is None else budgets[i])
            plans[i] = plan
            inputs.extend(plan.inputs())
        out: list[tuple[NlpArtifacts, tuple[tuple[int, int], ...]]] = []
        try:
            docs = iter(nlp.pipe(inputs, batch_size=self._batch_size))
            for i, planned in enumerate(plans):
                if planned is None:
                    out.append((loaded.nlp.tokens_only(safe[i], "en"), ()))
                elif planned.whole:
                    out.append((loaded.nlp.artifacts(next(docs), "en"), ()))
                else:
                    read = [next(docs) for _ in planned.pieces]
                    out.append((loaded.nlp.artifacts(merge_pieces(planned, read), "en"), planned.unread))
        except (ValueError, TypeError, KeyError, IndexError, RuntimeError, StopIteration) as exc:
            raise HushError("spaCy failed on a note") from exc
        return out

    def _run(self, loaded: _Loaded, text: str, language: str, art: NlpArtifacts) -> list[RecognizerResult]:
        try:
            results: list[RecognizerResult] = loaded.analyzer.analyze(
                text=text, language=language, nlp_artifacts=art
            )
        except (ValueError, TypeError, KeyError, IndexError, AttributeError, RuntimeError) as exc:
            raise HushError("Presidio failed on a note") from exc
        return results


#: Where a sensitive result carries its fact's extent (see _attach_facts) in its recognition metadata.
FACT_KEY: Final = "hush_fact"
_NAMED_ZH: Final = frozenset({"PERSON", "ORGANIZATION"})


def _attach_facts(text: str, results: list[RecognizerResult], words: Sequence[tuple[int, int, str]]) -> None:
    """Give each sensitive result of a Chinese text the extent of its fact inside its clause, read from
    the model's words (:class:`core.pii.zh_fact.ZhFacts`), for masking to withhold no more than it must.

    A start is kept only when no word between it and where the clauses would withhold from may be the
    fact's subject (a noun, name or pronoun that no verb or preposition governs: a Chinese clause may
    leave its subject out, "他打我被抓" is said of 他); else the first clause from there that holds such a
    word, or none: fails closed."""
    sensitive = [r for r in results if r.entity_type in _SENSITIVE_BY_TYPE]
    if not sensitive or not words:
        return
    clauses = ClauseIndex(text, frozenset(r.start for r in results if r.entity_type in _NAMED_ZH))
    facts = ZhFacts(text, words)
    for r in sensitive:
        around = clauses.around(r.start, r.end)
        if around is None:
            continue
        by_clauses, clause = around
        start, end = facts.extent(r.start, r.end, clause)
        if start is not None and (start <= by_clauses or facts.subject_before(by_clauses, start)):
            start = None
        if start is None and by_clauses < clause[0]:
            # the clauses would withhold from an earlier clause (the subject may stand there): only
            # from the first clause with a word that may be a subject, or this one if none has one
            found = facts.first_subject(by_clauses, clause[0])
            first = clause[0] if found is None else clauses.clause_start(found)
            start = first if first > by_clauses else None
        if start is None and end is None:
            continue
        meta = dict(r.recognition_metadata or {})
        meta[FACT_KEY] = (start, end, None if start is None else by_clauses)
        r.recognition_metadata = meta


def _shifted(r: RecognizerResult, by: int) -> RecognizerResult:
    """``r`` moved ``by`` characters on (a part of a mixed text), with its fact's extent."""
    out = RecognizerResult(r.entity_type, r.start + by, r.end + by, r.score)
    fact = (r.recognition_metadata or {}).get(FACT_KEY)
    if fact is not None:
        out.recognition_metadata = {FACT_KEY: tuple(None if x is None else x + by for x in fact)}
    return out


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
        value = norm.text[r.start : r.end]
        if r.entity_type == "DATE_TIME":
            # a date to the day keeps its year: the finding is its month and day (see without_year)
            keep_from, keep_to = without_year(r.entity_type, value)
            r = _narrowed(r, r.start + keep_from, r.start + keep_to)
            value = value[keep_from:keep_to]
        start, end = norm.to_original(r.start, r.end)
        if start < end and is_identifying(r.entity_type, value):
            fact = _original_fact(norm, r)
            keep(Finding(r.entity_type, category_of(r.entity_type), start, end, float(r.score), fact))
    if known is not None:
        for f in known.find(norm):
            keep(f)
    return _drop_contained(list(best.values()))


def _narrowed(r: RecognizerResult, start: int, end: int) -> RecognizerResult:
    """``r`` over [start, end) (a date's month and day without its year), or ``r`` if that is its span."""
    if (start, end) == (r.start, r.end):
        return r
    out = RecognizerResult(r.entity_type, start, end, r.score)
    out.recognition_metadata = r.recognition_metadata
    return out


def _original_fact(norm: NormalisedText, r: RecognizerResult) -> FactExtent | None:
    """The fact's extent of a result (see _attach_facts) in original offsets."""
    fact = (r.recognition_metadata or {}).get(FACT_KEY)
    if fact is None:
        return None
    start, end, checked = fact
    return (
        None if start is None else norm.to_original(start, r.end)[0],
        None if end is None else norm.to_original(r.start, end)[1],
        None if checked is None else norm.to_original(checked, r.end)[0],
    )


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
