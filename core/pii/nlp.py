"""spaCy pipelines for Presidio, loaded offline.

Presidio's ``NlpEngineProvider`` and ``SpacyNlpEngine.load`` download a model
that is not installed; hushdb never lets them: the pipelines are loaded here
with ``spacy.load`` (English, only the components detection uses) and
``spacy.blank("zh")`` (character segmentation, no model), then handed to an
engine whose ``load`` does nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import spacy
from presidio_analyzer.nlp_engine import NerModelConfiguration, NlpArtifacts, SpacyNlpEngine
from spacy.language import Language
from spacy.tokens import Doc, Span

from core.errors import ConfigError
from core.pii.zh_ner import Word

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
# Components that entity detection does not use (the small English model's NER has its own tok2vec).
_NOT_NEEDED: tuple[str, ...] = ("tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer", "senter")


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
        the word's tag as ``tag_``, and its PER / LOC / ORG / TIME words as entities."""
        nlp: Language = self._pipelines["zh"]
        tokens: list[str] = []
        starts: list[int] = []
        tags: list[str] = []
        ents: list[tuple[int, int, str]] = []
        for w in words:
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
        return NlpArtifacts(
            entities=entities,
            tokens=doc,
            tokens_indices=[token.idx for token in doc],
            lemmas=[token.lower_ for token in doc],
            nlp_engine=self,
            language=language,
            scores=scores,
        )
