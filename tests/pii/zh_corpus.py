"""The shared Chinese NER training splits (../shared/data/chinese-ner) and the measures run on them.

Used by bench/pii.py and tests/pii/test_pii_zh_accuracy.py; the files are read
where they are, never copied into the project, and nothing in core.pii is built
from them.

Gold kinds: ``name`` (CLUENER ``name``, Weibo ``PER.NAM``), ``place`` (``address``,
``LOC.NAM``, ``GPE.NAM``), ``org`` (``company``, ``government``, ``organization``,
``ORG.NAM``) and ``other`` (every other label, such as nominal mentions "妈妈").
Measures, as in the data README: the share of gold names and places whose exact
text survives masking, and the share of characters outside any gold mention that
survive unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parents[3] / "shared" / "data" / "chinese-ner"
if not DATA_DIR.exists():
    DATA_DIR = Path("/work/shared/data/chinese-ner")
CLUENER = DATA_DIR / "cluener_train.jsonl"
WEIBO = DATA_DIR / "weiboNER_2nd_conll.train"
MEASURED = ("name", "place")

_CLUENER_KIND = {
    "name": "name",
    "address": "place",
    "company": "org",
    "government": "org",
    "organization": "org",
}
_WEIBO_KIND = {"PER.NAM": "name", "LOC.NAM": "place", "GPE.NAM": "place", "ORG.NAM": "org"}


@dataclass(frozen=True)
class Gold:
    start: int
    end: int
    kind: str


@dataclass(frozen=True)
class Sentence:
    text: str
    gold: tuple[Gold, ...]


def available() -> bool:
    return CLUENER.exists() and WEIBO.exists()


def load_cluener(limit: int | None = None, path: Path = CLUENER) -> list[Sentence]:
    out: list[Sentence] = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            gold = [
                Gold(s, e + 1, _CLUENER_KIND.get(label, "other"))  # inclusive end in the file
                for label, values in row.get("label", {}).items()
                for spans in values.values()
                for s, e in spans
            ]
            out.append(Sentence(row["text"], tuple(sorted(gold, key=lambda g: (g.start, g.end)))))
            if limit is not None and len(out) >= limit:
                break
    return out


def load_weibo(limit: int | None = None, path: Path = WEIBO) -> list[Sentence]:
    out: list[Sentence] = []
    chars: list[str] = []
    tags: list[str] = []

    def flush() -> None:
        if not chars:
            return
        gold: list[Gold] = []
        start: int | None = None
        label = ""
        for i, tag in enumerate([*tags, "O"]):
            if start is not None and not (tag.startswith("I-") and tag[2:] == label):
                gold.append(Gold(start, i, _WEIBO_KIND.get(label, "other")))
                start = None
            if tag.startswith("B-") or (tag.startswith("I-") and start is None):
                start, label = i, tag[2:]
        out.append(Sentence("".join(chars), tuple(gold)))
        chars.clear()
        tags.clear()

    with path.open(encoding="utf-8") as fh:
        for line in fh:
            line = line.rstrip("\n")
            if not line.strip():
                flush()
                if limit is not None and len(out) >= limit:
                    return out
                continue
            token, _, tag = line.rpartition("\t")
            # each character carries its position in the word ("科0", "技1"); the text is the character
            chars.append(token[0] if token else " ")
            tags.append(tag or "O")
    flush()
    return out[:limit] if limit is not None else out


@dataclass
class ZhScores:
    mentions: dict[str, int] = field(default_factory=lambda: dict.fromkeys(MEASURED, 0))
    leaked: dict[str, int] = field(default_factory=lambda: dict.fromkeys(MEASURED, 0))
    kept: int = 0
    outside: int = 0
    leaked_values: list[tuple[str, str, str]] = field(default_factory=list)

    def leak_share(self, kind: str | None = None) -> float:
        kinds = MEASURED if kind is None else (kind,)
        total = sum(self.mentions[k] for k in kinds)
        return sum(self.leaked[k] for k in kinds) / total if total else 0.0

    @property
    def kept_share(self) -> float:
        return self.kept / self.outside if self.outside else 1.0


def score_zh(
    sentences: Sequence[Sentence],
    masked: Sequence[str | None],
    changed: Iterable[Sequence[tuple[int, int]]],
) -> ZhScores:
    """``masked``: each sentence's masked text (``None`` if dropped); ``changed``: the original ranges the
    mask replaced or withheld.  A gold name or place leaks when its exact text is still in the masked text."""
    s = ZhScores()
    for sentence, out, ranges in zip(sentences, masked, changed, strict=True):
        text = sentence.text
        inside = [False] * len(text)
        for g in sentence.gold:
            for i in range(g.start, min(g.end, len(text))):
                inside[i] = True
            if g.kind in MEASURED:
                value = text[g.start : g.end]
                s.mentions[g.kind] += 1
                if out is not None and value in out:
                    s.leaked[g.kind] += 1
                    s.leaked_values.append((g.kind, value, text))
        touched = [False] * len(text)
        if out is None:
            touched = [True] * len(text)
        else:
            for a, b in ranges:
                for i in range(max(a, 0), min(b, len(text))):
                    touched[i] = True
        for i, ch in enumerate(text):
            if not inside[i] and not ch.isspace():
                s.outside += 1
                s.kept += int(not touched[i])
    return s
