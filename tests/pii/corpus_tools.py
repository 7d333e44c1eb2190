"""The labelled corpus of tests/pii/corpus and the measures run on it (tests and bench).

Source files ``notes_en.txt`` / ``notes_zh.txt`` use the markup ``[value|LABEL]``;
``build_jsonl`` turns them into ``corpus.jsonl`` (id, lang, text, spans, known).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from core.pii import EXPORT_POLICY, SENSITIVE_CATEGORIES, Analysis, PiiEngine, mask

CORPUS_DIR = Path(__file__).parent / "corpus"
CORPUS_JSONL = CORPUS_DIR / "corpus.jsonl"
_MARK = re.compile(r"\[([^\[\]|]+)\|([A-Za-z_]+)\]")
_WORD = re.compile(r"[A-Za-z][A-Za-z'\-]+|[\u4e00-\u9fff]")
_SENTENCE_END = re.compile(r"[.!?]+(?=\s|$)|[。！？；;]+|\n+")


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    label: str

    @property
    def sensitive(self) -> bool:
        return self.label in SENSITIVE_CATEGORIES


@dataclass(frozen=True)
class Note:
    id: str
    lang: str
    text: str
    spans: tuple[Span, ...]
    known: tuple[tuple[str, str], ...] = ()


def parse_line(line: str) -> tuple[str, list[Span], list[tuple[str, str]]]:
    body, _, known_part = line.partition(" ## known:")
    known: list[tuple[str, str]] = []
    for item in known_part.split(","):
        if "=" in item:
            kind, value = item.split("=", 1)
            known.append((kind.strip(), value.strip()))
    text = ""
    spans: list[Span] = []
    pos = 0
    for m in _MARK.finditer(body):
        text += body[pos : m.start()]
        start = len(text)
        text += m.group(1)
        spans.append(Span(start, len(text), m.group(2)))
        pos = m.end()
    text += body[pos:]
    return text, spans, known


def build_jsonl() -> None:
    rows = []
    for lang in ("en", "zh"):
        n = 0
        for line in (CORPUS_DIR / f"notes_{lang}.txt").read_text(encoding="utf-8").splitlines():
            if not line.strip() or line.startswith("#"):
                continue
            n += 1
            text, spans, known = parse_line(line.rstrip())
            rows.append(
                {
                    "id": f"{lang}-{n:03d}",
                    "lang": lang,
                    "text": text,
                    "spans": [{"start": s.start, "end": s.end, "label": s.label} for s in spans],
                    "known": [list(k) for k in known],
                }
            )
    with CORPUS_JSONL.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def load_corpus() -> list[Note]:
    notes = []
    for line in CORPUS_JSONL.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        notes.append(
            Note(
                id=row["id"],
                lang=row["lang"],
                text=row["text"],
                spans=tuple(Span(s["start"], s["end"], s["label"]) for s in row["spans"]),
                known=tuple((k[0], k[1]) for k in row.get("known", [])),
            )
        )
    return notes


def sentences(text: str) -> list[tuple[int, int]]:
    out, start = [], 0
    for m in _SENTENCE_END.finditer(text):
        out.append((start, m.end()))
        start = m.end()
    if start < len(text):
        out.append((start, len(text)))
    return out


def harmless_words(text: str, spans: Sequence[Span], *, sentence_aware: bool = True) -> list[str]:
    """Words outside labelled spans, in sentences that carry no sensitive label."""
    out = []
    sens = [s for s in spans if s.sensitive] if sentence_aware else []
    for s_start, s_end in sentences(text):
        if any(sp.start < s_end and s_start < sp.end for sp in sens):
            continue
        for m in _WORD.finditer(text, s_start, s_end):
            if any(sp.start < m.end() and m.start() < sp.end for sp in spans):
                continue
            out.append(m.group(0).lower())
    return out


def words_kept(words: Iterable[str], masked: str | None) -> tuple[int, int]:
    wanted = Counter(words)
    have = Counter(m.group(0).lower() for m in _WORD.finditer(masked or ""))
    return sum(min(c, have[w]) for w, c in wanted.items()), sum(wanted.values())


def found(span: Span, analysis: Analysis) -> bool:
    """Sensitive: a finding of the same category overlaps; identifiers: findings cover half the span."""
    covered: set[int] = set()
    for f in analysis.findings:
        if span.sensitive:
            if f.category == span.label and f.start < span.end and span.start < f.end:
                return True  # the whole sentence goes: any overlap of the right category
            continue
        if not span.sensitive and f.is_sensitive:
            continue
        covered.update(range(max(f.start, span.start), min(f.end, span.end)))
    return len(covered) * 2 >= span.end - span.start


def survives(value: str, masked: str | None) -> bool:
    return masked is not None and value in masked


@dataclass
class Scores:
    per_label: dict[str, list[int]] = field(default_factory=dict)  # label -> [found, total]
    leaked: int = 0
    values: int = 0
    kept: int = 0
    harmless: int = 0

    def recall(self, labels: Callable[[str], bool] = lambda _: True) -> float:
        f = sum(v[0] for k, v in self.per_label.items() if labels(k))
        t = sum(v[1] for k, v in self.per_label.items() if labels(k))
        return f / t if t else 1.0

    @property
    def kept_share(self) -> float:
        return self.kept / self.harmless if self.harmless else 1.0

    @property
    def leak_share(self) -> float:
        return self.leaked / self.values if self.values else 0.0


def score(notes: Sequence[Note], analyses: Sequence[Analysis], masked: Sequence[str | None]) -> Scores:
    s = Scores()
    for note, analysis, out in zip(notes, analyses, masked, strict=True):
        for span in note.spans:
            bucket = s.per_label.setdefault(span.label, [0, 0])
            bucket[1] += 1
            bucket[0] += int(found(span, analysis))
            s.values += 1
            s.leaked += int(survives(note.text[span.start : span.end], out))
        k, t = words_kept(harmless_words(note.text, note.spans), out)
        s.kept += k
        s.harmless += t
    return s


if __name__ == "__main__":
    build_jsonl()
    print(f"wrote {CORPUS_JSONL} ({len(load_corpus())} notes)")


def masked_zh(engine: PiiEngine, text: str, key: bytes, lang: str = "zh") -> str:
    """``text`` analysed (Chinese by default) and masked with the export policy."""
    out = mask(text, engine.analyse(text, lang=lang), policy=EXPORT_POLICY, hash_key=key)
    assert out is not None
    return out


def sensitive_categories_zh(engine: PiiEngine, text: str) -> set[str]:
    """The sensitive categories found in the Chinese ``text``."""
    return {
        f.category for f in engine.analyse(text, lang="zh").findings if f.category in SENSITIVE_CATEGORIES
    }
