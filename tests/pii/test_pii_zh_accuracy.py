"""Chinese names and places on a fixed sample of the shared NER training splits (../shared/data/chinese-ner).

The sample is the first 500 CLUENER sentences and the first 400 Weibo messages.
The bounds are the levels reached by the Chinese model and rules (issue 13, third pass:
nicknames, lists of people, sensitive terms read against the model's words; H11: institutions,
doctrines and peoples a fact only in a person's context; H12: a second, name-leaning reading
of the model's scores, and a Chinese fact withheld from its subject to its end, not the whole clause;
fourth pass: everyday uses of sensitive terms, pet names and nicknames where a name stands)
plus a small
margin: the test fails when leakage rises or masking starts eating harmless text.  Skipped where the shared data is absent.  Full figures: bench/pii.py.
"""

from __future__ import annotations

import pytest
import zh_corpus

from core.pii import EXPORT_POLICY, PiiEngine, mask
from core.pii.operators import masked_ranges

pytestmark = pytest.mark.skipif(not zh_corpus.available(), reason="../shared/data/chinese-ner is absent")

KEY = b"zh-accuracy-key-0123456789"
# (set, sentences, most names leaked, most places leaked, fewest characters kept)
BOUNDS = [
    # leak bounds allow one more mention than reached (191 / 131 names / places; 147 / 42)
    # kept: analyser 1.4.5 (a dateline's or a release's date, "vs", WCG2011 kept), less about 0.15 points
    ("cluener", 500, 0.037, 0.070, 0.956),  # reached: 3.14% (6), 6.11% (8), 95.75%
    ("weibo", 400, 0.096, 0.035, 0.960),  # reached: 8.84% (13), 2.38% (1), 96.21%
]


@pytest.mark.parametrize(("name", "limit", "max_names", "max_places", "min_kept"), BOUNDS)
def test_leakage_stays_low(
    engine: PiiEngine, name: str, limit: int, max_names: float, max_places: float, min_kept: float
) -> None:
    sentences = zh_corpus.load_cluener(limit) if name == "cluener" else zh_corpus.load_weibo(limit)
    texts = [s.text for s in sentences]
    analyses = engine.analyse_many(texts)
    masked = [mask(t, a, policy=EXPORT_POLICY, hash_key=KEY) for t, a in zip(texts, analyses, strict=True)]
    ranges = [masked_ranges(t, a, policy=EXPORT_POLICY) for t, a in zip(texts, analyses, strict=True)]
    s = zh_corpus.score_zh(sentences, masked, ranges)
    assert s.mentions["name"] > 50 and s.mentions["place"] > 20
    assert s.leak_share("name") <= max_names, s.leaked_values[:20]
    assert s.leak_share("place") <= max_places, s.leaked_values[:20]
    assert s.kept_share >= min_kept
