"""Benchmark and quality report of core.pii (issue 4).

    .venv/bin/python bench/pii.py [--quick]

Speed, on N notes (2,000; 300 with --quick) drawn from the labelled corpus with
varied harmless sentences:
  (a) baseline: vanilla Presidio AnalyzerEngine + AnonymizerEngine, one note at a
      time, full spaCy pipeline of the same model (loaded offline);
  (b) hushdb analysis on write (PiiEngine.analyse_many)   target >= 4x (a);
  (c) hushdb masking from stored spans (operators.mask)   target >= 100x (a).
Quality, on the hushdb corpus (tests/pii/corpus) and on presidio-research
synth_dataset_v2.json (a measure only: nothing in core.pii is built from it):
recall per category, labelled values surviving masking, harmless words kept.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "pii"))

from corpus_tools import Note, Scores, Span, harmless_words, load_corpus, score, words_kept  # noqa: E402

from core.config import DEFAULT_SPACY_MODEL  # noqa: E402
from core.pii import EXPORT_POLICY, Analysis, KnownRecords, PiiEngine, mask  # noqa: E402

SYNTH = Path("/work/shared/data/presidio-research/synth_dataset_v2.json")
if not SYNTH.exists():
    SYNTH = ROOT.parent / "shared" / "data" / "presidio-research" / "synth_dataset_v2.json"
KEY = b"bench-key-0123456789abcdef"
FILLERS = (
    "",
    " Follow up next week.",
    " Sent the catalogue.",
    " Prefers email.",
    " Asked about delivery times.",
    " 已发送目录。",
    " Wants a callback.",
    " 下周跟进。",
)


def vanilla(model: str) -> tuple[Callable[[str], tuple[list[Any], str]], Any]:
    """Presidio with its defaults on the full pipeline of ``model``, offline."""
    import spacy
    import tldextract
    import tldextract.tldextract as tldmod
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NerModelConfiguration, SpacyNlpEngine
    from presidio_anonymizer import AnonymizerEngine

    # Presidio's EmailRecognizer calls tldextract.extract(); point the module's default
    # extractor at the bundled snapshot so the baseline does not try the network.
    tldmod.TLD_EXTRACTOR = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
    conf = NerModelConfiguration(
        model_to_presidio_entity_mapping={
            "PER": "PERSON", "PERSON": "PERSON", "NORP": "NRP", "FAC": "LOCATION", "LOC": "LOCATION",
            "GPE": "LOCATION", "LOCATION": "LOCATION", "ORG": "ORGANIZATION", "ORGANIZATION": "ORGANIZATION",
            "DATE": "DATE_TIME", "TIME": "DATE_TIME",
        },
        low_confidence_score_multiplier=0.4,
        labels_to_ignore=["ORGANIZATION", "CARDINAL", "EVENT", "LANGUAGE", "LAW", "MONEY", "ORDINAL",
                          "PERCENT", "PRODUCT", "QUANTITY", "WORK_OF_ART"],
    )  # fmt: skip
    nlp_engine = SpacyNlpEngine(
        models=[{"lang_code": "en", "model_name": model}], ner_model_configuration=conf
    )
    nlp_engine.nlp = {"en": spacy.load(model)}
    analyzer = AnalyzerEngine(nlp_engine=nlp_engine, supported_languages=["en"])
    anonymizer = AnonymizerEngine()

    def run(text: str) -> tuple[list[Any], str]:
        results = analyzer.analyze(text=text, language="en")
        return results, anonymizer.anonymize(text=text, analyzer_results=results).text

    return run, analyzer


def bench_notes(corpus: list[Note], n: int) -> list[Note]:
    out = []
    for i in range(n):
        base = corpus[i % len(corpus)]
        out.append(
            Note(f"{base.id}-{i}", base.lang, base.text + FILLERS[i % len(FILLERS)], base.spans, base.known)
        )
    return out


def synth_notes(limit: int | None) -> list[Note]:
    rows = json.loads(SYNTH.read_text(encoding="utf-8"))
    notes = []
    for i, row in enumerate(rows[:limit]):
        spans = tuple(Span(s["start_position"], s["end_position"], s["entity_type"]) for s in row["spans"])
        notes.append(Note(f"synth-{i}", "en", row["full_text"], spans))
    return notes


def synth_scores(notes: Sequence[Note], masked: Sequence[str | None]) -> tuple[float, float, int]:
    """Share of labelled values (>= 3 chars) surviving masking, share of unlabelled words kept."""
    leaked = values = kept = total = 0
    for note, out in zip(notes, masked, strict=True):
        for s in note.spans:
            value = note.text[s.start : s.end]
            if len(value) >= 3:
                values += 1
                leaked += int(out is not None and value in out)
        k, t = words_kept(harmless_words(note.text, note.spans, sentence_aware=False), out)
        kept += k
        total += t
    return leaked / values, kept / total, values


def print_scores(title: str, s: Scores) -> None:
    print(f"\n{title}")
    for label, (f, t) in sorted(s.per_label.items()):
        print(f"  {label:<22} recall {f / t:6.3f}  ({f}/{t})")
    print(f"  overall recall {s.recall():.3f}   values surviving masking {s.leak_share:.3%}")
    print(f"  harmless words kept {s.kept_share:.2%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="300 notes, 300 synth records")
    parser.add_argument("--model", default=DEFAULT_SPACY_MODEL)
    args = parser.parse_args()
    n = 300 if args.quick else 2000
    corpus = load_corpus()
    notes = bench_notes(corpus, n)
    texts = [x.text for x in notes]

    engine = PiiEngine.create(spacy_model=args.model)
    t0 = time.perf_counter()
    engine.preload()
    print(f"hushdb engine load: {time.perf_counter() - t0:.2f}s")
    run_vanilla, _ = vanilla(args.model)
    run_vanilla("warm up the baseline with John Smith in London.")
    engine.analyse_many(["warm up with John Smith in London."])

    t0 = time.perf_counter()
    for text in texts:
        run_vanilla(text)
    base_s = time.perf_counter() - t0
    base_rate = n / base_s

    t0 = time.perf_counter()
    analyses = engine.analyse_many(texts)
    ana_s = time.perf_counter() - t0
    stored = [a.to_json() for a in analyses]  # what the store keeps (encrypted)

    t0 = time.perf_counter()
    for text, blob in zip(texts, stored, strict=True):
        mask(text, Analysis.from_json(blob), policy=EXPORT_POLICY, hash_key=KEY)
    mask_s = time.perf_counter() - t0

    print(f"\nspeed on {n} notes (1 process)")
    print(f"  (a) vanilla Presidio analyse+anonymise  {base_rate:10.1f} notes/s")
    print(
        f"  (b) hushdb analysis on write            {n / ana_s:10.1f} notes/s   x{base_s / ana_s:.1f}  (target x4)"
    )
    print(
        f"  (c) hushdb masking from stored spans    {n / mask_s:10.1f} notes/s   x{base_s / mask_s:.0f}  (target x100)"
    )

    # quality on the hushdb corpus (with record-aware detection where the corpus names known records)
    an = [engine.analyse(x.text, known=KnownRecords.from_pairs(x.known) if x.known else None) for x in corpus]
    masked = [mask(x.text, a, policy=EXPORT_POLICY, hash_key=KEY) for x, a in zip(corpus, an, strict=True)]
    s = score(corpus, an, masked)
    print_scores(f"hushdb corpus ({len(corpus)} notes)", s)
    sensitive = s.recall(lambda label: label.islower())
    ident = s.recall(lambda label: label.isupper())
    print(f"  recall sensitive {sensitive:.3f}  identifiers {ident:.3f}  (target >= 0.98, kept >= 95%)")

    synth = synth_notes(300 if args.quick else None)
    sa = engine.analyse_many([x.text for x in synth])
    sm = [mask(x.text, a, policy=EXPORT_POLICY, hash_key=KEY) for x, a in zip(synth, sa, strict=True)]
    ss = score(synth, sa, sm)
    print_scores(f"synth_dataset_v2 ({len(synth)} records) — hushdb", ss)
    leak, kept, values = synth_scores(synth, sm)
    vleak, vkept, _ = synth_scores(synth, [run_vanilla(x.text)[1] for x in synth])
    print(f"\nsynth_dataset_v2 survival of labelled values (>= 3 chars, {values} values)")
    print(f"  hushdb  {leak:6.2%} survive, unlabelled words kept {kept:6.2%}   (targets <= 5%, >= 90%)")
    print(f"  vanilla {vleak:6.2%} survive, unlabelled words kept {vkept:6.2%}")


if __name__ == "__main__":
    main()
