"""The worst accepted note costs a bounded amount of NER work (issue 15: any note analysed within 1 s).

The English NER model is most of the cost of analysis; these tests pin how much of a note it reads
(tokens handed to spaCy, counted by a spy on ``Language.pipe``), not how long it takes (the times are
in ``bench/pii.py``, worst-case section).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import pytest
from spacy.language import Language
from spacy.tokens import Doc

from core.config import DEFAULT_NOTE_MAX_BYTES
from core.pii import EXPORT_POLICY, PiiEngine, mask
from core.pii.engine import MAX_ZH_MODEL_CHARS, needs_ner, tokenizer_safe, zh_model_cut
from core.pii.nlp import MAX_NER_TOKENS, NER_PIECE_TOKENS, needs_reading, plan_ner, unread_proper_nouns
from core.pii.normaliser import normalise
from core.pii.operators import masked_ranges
from core.pii.zh_ner import Word

#: Token-dense shapes: 1-2 letter words, commas, capitalised pairs, digits, CJK and emoji mixed in, no spaces.
DENSE_UNITS = (
    "Mr Ab Cd ", "Abc, ", "Ab ", "Q Q ", "Q,", "Q-", "Q/", "Qq,", "Ab-", "Ab.Cd ", "Ab,", "B A ", "Q1 ", "1Q ",
    "Ab's ", "A&B ", "Ab Cd\n", "12 Ab ", "AbCd,", "😀Ab ", "Ab😀", "😀Q,", "Ab 王 ", "客户Ab Cd，", "王Ab ",
)  # fmt: skip


def _note(unit: str, max_bytes: int = DEFAULT_NOTE_MAX_BYTES) -> str:
    note = unit * (max_bytes // len(unit.encode()))
    assert len(note.encode()) <= max_bytes
    return note


@pytest.fixture
def tokens_to_ner(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Tokens of every text handed to ``Language.pipe`` (the NER model) while the test runs."""
    counted: list[int] = []
    real_pipe = Language.pipe

    def pipe(self: Language, texts: Iterable[str | Doc], *args: Any, **kwargs: Any) -> Iterator[Doc]:
        items = list(texts)
        counted.extend(len(t) if isinstance(t, Doc) else len(self.make_doc(t)) for t in items)
        return real_pipe(self, items, *args, **kwargs)

    monkeypatch.setattr(Language, "pipe", pipe)
    return counted


@pytest.mark.parametrize("unit", DENSE_UNITS)
def test_ner_reads_at_most_the_budget_of_a_maximum_size_note(
    engine: PiiEngine, tokens_to_ner: list[int], unit: str
) -> None:
    note = _note(unit)
    engine.analyse(note)
    assert tokens_to_ner, "the note has capitalised words: the model reads some of it"
    assert sum(tokens_to_ner) <= MAX_NER_TOKENS
    assert max(tokens_to_ner) <= NER_PIECE_TOKENS  # over the budget: read in pieces


def test_a_note_within_the_budget_is_read_whole(engine: PiiEngine, tokens_to_ner: list[int]) -> None:
    note = "Mary Jones moved to 14 High Street, Leeds; call 07700 900123 about the catalogue. " * 100
    analysis = engine.analyse(note)
    assert len(tokens_to_ner) == 1 and tokens_to_ner[0] <= MAX_NER_TOKENS
    masked = mask(note, analysis, policy=EXPORT_POLICY, hash_key=b"k" * 16)
    assert masked is not None and "Mary Jones" not in masked


def test_plan_counts_pieces_and_skips_sentences_that_cannot_hold_a_name(engine: PiiEngine) -> None:
    nlp = engine._load().nlp.get_nlp("en")
    filler = "we talked about the order and the weather for a while. " * 400  # ~4,800 tokens, no hint
    text = tokenizer_safe(filler + "Then Zyxwa Qorvath called from Vrelk.")
    plan = plan_ner(nlp, text)
    assert not plan.whole and len(plan.doc) > MAX_NER_TOKENS
    assert plan.unread == ()  # hint-free sentences cost nothing, so the name is read by the model
    assert 0 < plan.tokens_read <= NER_PIECE_TOKENS
    assert any("Zyxwa" in plan.doc[a:b].text for a, b in plan.pieces)


def test_capitalised_words_beyond_the_budget_are_masked(engine: PiiEngine, tokens_to_ner: list[int]) -> None:
    dense = "Ab Cd Ef, Gh Ij. " * 1100  # ~6,600 tokens, every sentence hinted
    tail = "Then Zyxwa Qorvath phoned from Vrelkton about the invoice."
    note = dense + tail
    assert len(note.encode()) <= DEFAULT_NOTE_MAX_BYTES
    analysis = engine.analyse(note)
    assert sum(tokens_to_ner) <= MAX_NER_TOKENS
    masked = mask(note, analysis, policy=EXPORT_POLICY, hash_key=b"k" * 16)
    assert masked is not None
    for word in ("Zyxwa", "Qorvath", "Vrelkton"):
        assert word not in masked
    assert "about the invoice" in masked  # lower-case words stay


def test_unread_proper_nouns_joins_capitalised_runs_and_skips_stop_words() -> None:
    text = "The Van Der Berg family and I met Ana Lu. We left. Óscar Núñez-Paz stayed"
    runs = [text[a:b] for a, b in unread_proper_nouns(text, [(0, len(text))])]
    assert runs == ["Van Der Berg", "Ana Lu", "Óscar Núñez-Paz"]
    assert list(unread_proper_nouns(text, [(0, 3)])) == []  # "The": a stop word alone


@pytest.mark.parametrize(
    ("piece", "needed"),
    [
        ("the order was late.", False),
        ("The order was late.", False),  # a stop word starting the sentence
        ("We called twice.", False),
        ("Mary called twice.", True),  # a name starting the sentence still counts (unlike needs_ner)
        ("order 12 was late", True),
        ("Ωmega ltd", True),
    ],
)
def test_needs_reading(piece: str, needed: bool) -> None:
    assert needs_reading(piece) is needed


def test_artifacts_offsets_and_lemmas_are_the_tokens(engine: PiiEngine) -> None:
    loaded = engine._load()
    text = "  Mr. O'Neil,  e.g. İstanbul\n\n ΣΑΣ 😀😀 王先生 \t x  "
    doc = loaded.nlp.get_nlp("en").make_doc(text)
    art = loaded.nlp.artifacts(doc, "en")
    assert art.tokens_indices == [t.idx for t in doc]
    assert art.lemmas == [t.lower_ for t in doc]


def test_a_maximum_size_note_of_real_notes_leaks_no_labelled_identifier(engine: PiiEngine) -> None:
    """Corpus notes joined to the size limit (more tokens than the budget): every labelled identifier
    is still masked, whether the model read its sentence or not."""
    from corpus_tools import load_corpus

    notes = [n for n in load_corpus() if n.lang == "en"]
    parts: list[str] = []
    spans: list[tuple[int, int]] = []
    pos = 0
    for note in notes * 3:
        if len("\n".join([*parts, note.text]).encode()) > DEFAULT_NOTE_MAX_BYTES:
            break
        spans.extend((pos + s.start, pos + s.end) for s in note.spans if s.label.isupper())
        parts.append(note.text)
        pos += len(note.text) + 1
    text = "\n".join(parts)
    nlp = engine._load().nlp.get_nlp("en")
    assert needs_ner(text) and not plan_ner(nlp, tokenizer_safe(normalise(text).text)).whole
    ranges = masked_ranges(text, engine.analyse(text), policy=EXPORT_POLICY)
    leaked = [text[s:e] for s, e in spans if not any(a <= s and e <= b for a, b in ranges)]
    assert len(spans) > 20 and leaked == []


@pytest.mark.parametrize(
    ("unit", "budget"),
    [("A王", MAX_ZH_MODEL_CHARS), ("王 a 1 点 ", MAX_ZH_MODEL_CHARS), ("Ab 王 ", MAX_ZH_MODEL_CHARS // 2)],
)
def test_the_chinese_model_reads_at_most_its_budget(
    engine: PiiEngine, monkeypatch: pytest.MonkeyPatch, tokens_to_ner: list[int], unit: str, budget: int
) -> None:
    loaded = engine._load()
    read: list[int] = []
    real_tag = loaded.zh.tag

    def tag(text: str) -> list[Word]:
        read.append(len(text))
        return real_tag(text)

    monkeypatch.setattr(loaded.zh, "tag", tag)
    note = _note(unit)
    analysis = engine.analyse(note)
    assert read and sum(read) <= budget < len(note)
    if analysis.language == "mixed":
        assert sum(tokens_to_ner) <= MAX_NER_TOKENS // 2  # the English model has the other half
    # past the budget every Chinese character is masked (fail closed)
    tail = len(note) - 64
    masked = masked_ranges(note, analysis, policy=EXPORT_POLICY)
    cjk = [i for i in range(tail, len(note)) if "\u4e00" <= note[i] <= "\u9fff"]
    assert cjk and all(any(a <= i < b for a, b in masked) for i in cjk)


def test_a_whole_chinese_note_is_read_by_the_model(
    engine: PiiEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded = engine._load()
    read: list[int] = []
    real_tag = loaded.zh.tag

    def tag(text: str) -> list[Word]:
        read.append(len(text))
        return real_tag(text)

    monkeypatch.setattr(loaded.zh, "tag", tag)
    note = _note("客户王芳说她下周搬到广州市越秀区中山路号，联系人李咏。")
    engine.analyse(note)
    assert sum(read) == len(note) <= MAX_ZH_MODEL_CHARS


def test_zh_model_cut_prefers_punctuation() -> None:
    assert zh_model_cut("短句。", 10) == 3
    text = "甲" * 100 + "，" + "乙" * 100
    assert zh_model_cut(text, 150) == 101
    assert zh_model_cut("甲" * 300, 150) == 150
