"""spaCy pipelines for Presidio, loaded offline.

Presidio's ``NlpEngineProvider`` and ``SpacyNlpEngine.load`` download a model
that is not installed; hushdb never lets them: the pipelines are loaded here
with ``spacy.load`` (English, only the components detection uses) and
``spacy.blank("zh")`` (character segmentation, no model), then handed to an
engine whose ``load`` does nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Final

import numpy as np
import spacy
from presidio_analyzer.nlp_engine import NerModelConfiguration, NlpArtifacts, SpacyNlpEngine
from spacy.lang.en.stop_words import STOP_WORDS
from spacy.language import Language
from spacy.tokens import Doc, Span

from core.errors import ConfigError
from core.pii.zh_ner import NAME_HINT, Word

#: spaCy NER labels turned into Presidio entities; anything else is ignored.
NER_MAPPING: dict[str, str] = {
    "PERSON": "PERSON",
    "PER": "PERSON",
    "GPE": "LOCATION",
    "LOC": "LOCATION",
    "FAC": "LOCATION",
    "ORG": "ORGANIZATION",
    "NORP": "NRP",
    "DATE": "DATE_TIME",
    "TIME": "DATE_TIME",
}
NER_IGNORED: tuple[str, ...] = (
    "CARDINAL",
    "ORDINAL",
    "QUANTITY",
    "MONEY",
    "PERCENT",
    "LANGUAGE",
    "LAW",
    "EVENT",
    "WORK_OF_ART",
    "PRODUCT",
)
#: LAC's entity tags (the other tags are parts of speech).
ZH_ENTITY_TAGS: frozenset[str] = frozenset({"PER", "LOC", "ORG", "TIME"})
_RUNS = re.compile(r"\s+|\S+")
#: Key of ``Doc.user_data`` holding the Chinese words as (start, end, tag) triples.
ZH_WORDS = "hush_zh_words"
#: Key of ``Doc.user_data`` holding the person words of the tagger's second reading as (start, end) pairs.
ZH_NAME_HINTS = "hush_zh_name_hints"
# Components that entity detection does not use (the small English model's NER has its own tok2vec).
_NOT_NEEDED: tuple[str, ...] = ("tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer", "senter")


#: Tokens of one note that the English NER model reads at most.  The model is most of the cost of
#: analysis (about 0.1 ms of CPU per token on a loaded 2-core machine) and 20 KB of dense text
#: ("A,A,A," "Mr Ab Cd ") is 7,000 to 20,000 tokens; 20 KB of prose is about 4,500, of which the
#: sentences without a digit or a capitalised word (see ``needs_reading``) are not counted.
MAX_NER_TOKENS: Final = 3072
#: Longest piece (in tokens) of an over-long note handed to the model as one text: a sentence longer
#: than this is cut.
NER_PIECE_TOKENS: Final = 256
# Where a sentence starts: after . ! ? ; : 。 (and closing quotes) and white space, or after a line end.
_SENTENCE_GAP: Final = re.compile(r"(?<=[.!?;:。])[\"'’”)\]]*+\s++|\n\s*+")
# Letters of the scripts written with capitals (Latin, Greek, Cyrillic); CJK has none.
_CASED: Final = "A-Za-zªºÀ-ÖØ-öø-ɏͰ-ϿЀ-ӿḀ-ỿ"
# A digit, or a word starting with a capital (after anything but a cased letter: "王Ab" starts one).
_HINT: Final = re.compile(rf"[0-9]|(?<![{_CASED}'’\-])[A-ZÀ-ÖØ-ÞΑ-ΩЀ-Я][{_CASED}0-9'’\-]*+")
_WORD: Final = re.compile(rf"[{_CASED}][{_CASED}0-9'’\-]*+")
#: Score of a capitalised word in a part of a note that the NER model did not read (above the threshold).
UNREAD_SCORE: Final = 0.5


def needs_reading(text: str) -> bool:
    """Whether a piece of a note could hold a name, place, organisation or date for the NER model to
    find: a digit, or a capitalised word that is not a stop word ("The", "We" start sentences)."""
    for m in _HINT.finditer(text):
        word = m.group()
        if word[0].isdigit() or word.lower() not in STOP_WORDS:
            return True
    return False


@dataclass(frozen=True, slots=True)
class NerPlan:
    """What the NER model reads of one note (``text`` as handed to spaCy, see ``engine.tokenizer_safe``).

    ``doc`` is the note tokenized.  When it has at most MAX_NER_TOKENS tokens the model reads it whole
    (``whole``); otherwise it is cut into sentences (a sentence longer than NER_PIECE_TOKENS tokens is
    cut too), and the sentences that ``needs_reading`` are read in order while the budget lasts
    (``pieces``: token ranges, neighbours joined up to NER_PIECE_TOKENS); the ones beyond it are
    ``unread`` (character ranges): their capitalised words are tagged by :func:`unread_proper_nouns`
    instead (fail closed).
    """

    doc: Doc
    whole: bool
    pieces: tuple[tuple[int, int], ...]
    unread: tuple[tuple[int, int], ...]

    @property
    def tokens_read(self) -> int:
        """Tokens the NER model reads for this note."""
        return len(self.doc) if self.whole else sum(b - a for a, b in self.pieces)

    def inputs(self) -> list[Doc]:
        """What to hand the model: the note's Doc, or a Doc per piece (its tokens, not re-tokenized)."""
        if self.whole:
            return [self.doc]
        # rebuilt from the token arrays: ``Span.as_doc`` costs ten times more, and ``Doc.text`` makes a
        # Token object per token of the whole note
        rows = self.doc.to_array(["ORTH", "SPACY"])
        strings = self.doc.vocab.strings
        docs: list[Doc] = []
        for a, b in self.pieces:
            piece: list[list[int]] = rows[a:b].tolist()
            docs.append(
                Doc(self.doc.vocab, words=[strings[o] for o, _ in piece], spaces=[bool(s) for _, s in piece])
            )
        return docs


def plan_ner(nlp: Language, text: str, *, budget: int = MAX_NER_TOKENS) -> NerPlan:
    """Tokenize ``text`` (cheap: no model) and decide what the NER model reads of it within ``budget``."""
    doc = nlp.make_doc(text)
    n = len(doc)
    if n <= budget:
        return NerPlan(doc=doc, whole=True, pieces=(), unread=())
    starts = doc.to_array("IDX")
    cuts = np.unique(
        np.searchsorted(starts, np.array([m.end() for m in _SENTENCE_GAP.finditer(text)], dtype=np.int64))
    )
    bounds: list[int] = [0]
    for cut in [*cuts.tolist(), n]:
        while cut - bounds[-1] > NER_PIECE_TOKENS:
            bounds.append(bounds[-1] + NER_PIECE_TOKENS)
        if cut > bounds[-1]:
            bounds.append(int(cut))
    offsets = [*starts.tolist(), len(text)]
    pieces: list[tuple[int, int]] = []
    unread: list[tuple[int, int]] = []
    used = 0
    for a, b in pairwise(bounds):
        if not needs_reading(text[offsets[a] : offsets[b]]):
            continue
        if used + (b - a) > budget:
            unread.append((offsets[a], offsets[b]))
            continue
        used += b - a
        # neighbouring sentences go to the model together (a piece per short line costs more than its
        # tokens), up to NER_PIECE_TOKENS tokens a piece
        if pieces and pieces[-1][1] == a and b - pieces[-1][0] <= NER_PIECE_TOKENS:
            pieces[-1] = (pieces[-1][0], b)
        else:
            pieces.append((a, b))
    return NerPlan(doc=doc, whole=False, pieces=tuple(pieces), unread=tuple(unread))


def merge_pieces(plan: NerPlan, docs: Sequence[Doc]) -> Doc:
    """``plan.doc`` with the entities the model found in its pieces (``docs``, one per piece)."""
    spans = [
        Span(plan.doc, a + ent.start, a + ent.end, label=ent.label_)
        for (a, _), piece in zip(plan.pieces, docs, strict=True)
        for ent in piece.ents
    ]
    plan.doc.ents = spans
    return plan.doc


def unread_proper_nouns(text: str, ranges: Sequence[tuple[int, int]]) -> Iterator[tuple[int, int]]:
    """[start, end) of every run of capitalised words (separated by single blanks) inside ``ranges``
    of ``text``: what may be a name where the NER model did not read.  A stop word ("The", "We") does
    not start a run, but may continue one ("Bank Of England")."""
    for lo, hi in ranges:
        run: tuple[int, int] | None = None
        for m in _WORD.finditer(text, lo, hi):
            word = m.group()
            if not word[0].isupper():
                if run is not None:
                    yield run
                run = None
            elif run is not None and m.start() - run[1] == 1 and text[run[1]] in " \t":
                run = (run[0], m.end())
            else:
                if run is not None:
                    yield run
                run = None if word.lower() in STOP_WORDS else (m.start(), m.end())
        if run is not None:
            yield run


def load_english(model: str) -> Language:
    """Load an installed spaCy package by name, keeping only NER. Never downloads."""
    if not spacy.util.is_package(model):
        raise ConfigError(f"spaCy model {model!r} is not installed (hushdb never downloads models)")
    try:
        nlp = spacy.load(model, exclude=list(_NOT_NEEDED))
    except (OSError, ValueError, ImportError) as exc:
        raise ConfigError(f"spaCy model {model!r} could not be loaded") from exc
    if "ner" not in nlp.pipe_names:
        raise ConfigError(f"spaCy model {model!r} has no 'ner' component")
    return nlp


def load_chinese() -> Language:
    """A blank Chinese pipeline: character segmentation, no download, no model."""
    try:
        return spacy.blank("zh")
    except (OSError, ValueError, ImportError) as exc:
        raise ConfigError("blank Chinese spaCy pipeline unavailable") from exc


def ner_configuration() -> NerModelConfiguration:
    return NerModelConfiguration(
        model_to_presidio_entity_mapping=dict(NER_MAPPING),
        labels_to_ignore=list(NER_IGNORED),
    )


class OfflineSpacyNlpEngine(SpacyNlpEngine):
    """A ``SpacyNlpEngine`` over pipelines that are already loaded; ``load`` never downloads."""

    def __init__(self, *, pipelines: Mapping[str, Language]) -> None:
        super().__init__(
            models=[
                {"lang_code": lang, "model_name": nlp.meta.get("name", lang)}
                for lang, nlp in pipelines.items()
            ],
            ner_model_configuration=ner_configuration(),
        )
        self._pipelines: dict[str, Language] = dict(pipelines)
        self.nlp = self._pipelines  # type: ignore[assignment]  # Presidio declares it None until load()

    def load(self) -> None:
        """Already loaded at construction."""

    def tokens_only(self, text: str, language: str) -> NlpArtifacts:
        """Artifacts without running any component (for texts the pre-filter says need no NER)."""
        nlp: Language = self._pipelines[language]
        return self.artifacts(nlp.make_doc(text), language)

    def chinese_artifacts(self, text: str, words: Sequence[Word]) -> NlpArtifacts:
        """Artifacts of a Chinese text from the tagger's words: one token per word (whitespace runs apart),
        the word's tag as ``tag_``, and its PER / LOC / ORG / TIME words as entities.  The person words of
        the tagger's second reading (``NAME_HINT``) are no tokens: they are kept apart for the name rules."""
        nlp: Language = self._pipelines["zh"]
        tokens: list[str] = []
        starts: list[int] = []
        tags: list[str] = []
        ents: list[tuple[int, int, str]] = []
        hints: list[tuple[int, int]] = []
        for w in words:
            if w.tag == NAME_HINT:
                hints.append((w.start, w.end))
                continue
            first = len(tokens)
            for m in _RUNS.finditer(text, w.start, w.end):
                tokens.append(m.group(0))
                starts.append(m.start())
                tags.append("_SP" if m.group(0).isspace() else w.tag)
            if w.tag in ZH_ENTITY_TAGS and len(tokens) > first:
                ents.append((first, len(tokens), w.tag))
        doc = Doc(nlp.vocab, words=tokens, spaces=[False] * len(tokens), tags=tags)
        # (start, end, tag) per token, for recognizers: cheaper than iterating the Doc's Token objects
        doc.user_data[ZH_WORDS] = [
            (a, a + len(t), tag) for a, t, tag in zip(starts, tokens, tags, strict=True)
        ]
        doc.user_data[ZH_NAME_HINTS] = hints
        spans = [Span(doc, a, b, label=label) for a, b, label in ents if not tokens[a].isspace()]
        doc.ents = spans
        default = self.ner_model_configuration.default_score
        scores = [0.85 if default is None else float(default)] * len(spans)
        entities, scores = self._get_updated_entities(spans, scores)
        # built from the word lists rather than by iterating the Doc (its Token objects are costly)
        return NlpArtifacts(
            entities=entities,
            tokens=doc,
            tokens_indices=starts,
            lemmas=[t.lower() for t in tokens],
            nlp_engine=self,
            language="zh",
            scores=scores,
        )

    def artifacts(self, doc: Doc, language: str) -> NlpArtifacts:
        return self._doc_to_nlp_artifact(doc, language)

    def _doc_to_nlp_artifact(self, doc: Doc, language: str) -> NlpArtifacts:
        # No lemmatizer is loaded: lower-case token text stands in for lemmas in context matching.
        entities = list(doc.ents)
        default = self.ner_model_configuration.default_score
        scores: list[float] = [0.85 if default is None else float(default)] * len(entities)
        entities, scores = self._get_updated_entities(entities, scores)
        # from the token offsets rather than by iterating the Doc (a Token object per token is costly)
        starts: list[int] = doc.to_array("IDX").tolist()
        strings = doc.vocab.strings
        lemmas = [strings[h] for h in doc.to_array("LOWER").tolist()]
        return NlpArtifacts(
            entities=entities,
            tokens=doc,
            tokens_indices=starts,
            lemmas=lemmas,
            nlp_engine=self,
            language=language,
            scores=scores,
        )
