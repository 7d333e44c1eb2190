"""Cross-sell on a small hand-computed example."""

from __future__ import annotations

import pytest

from core.errors import InputError
from core.profiling.cross_sell import build_baskets, co_occurrence, item_pairs, recommend

# Five customers; bread+butter go together, jam comes with bread, milk is bought alone.
PURCHASES = [
    ("c1", "bread"), ("c1", "butter"), ("c1", "bread"),  # a repeat purchase collapses to one
    ("c2", "bread"), ("c2", "butter"), ("c2", "jam"),
    ("c3", "bread"), ("c3", "jam"),
    ("c4", "butter"),
    ("c5", "milk"),
]  # fmt: skip


def test_co_occurrence_counts_customers() -> None:
    baskets = build_baskets(PURCHASES)
    assert baskets.products == ("bread", "butter", "jam", "milk")
    assert co_occurrence(baskets).tolist() == [
        [3, 2, 2, 0],
        [2, 3, 1, 0],
        [2, 1, 2, 0],
        [0, 0, 0, 1],
    ]


def test_support_confidence_lift_by_hand() -> None:
    pairs = {(p.antecedent, p.consequent): p for p in item_pairs(build_baskets(PURCHASES))}
    jam_bread = pairs[("jam", "bread")]
    # both: 2 of 5 customers; jam buyers 2, all of them bought bread; bread buyers 3 of 5.
    assert (jam_bread.count, jam_bread.confidence) == (2, 1.0)
    assert jam_bread.support == pytest.approx(0.4)
    assert jam_bread.lift == pytest.approx(1.0 / 0.6)
    bread_jam = pairs[("bread", "jam")]
    assert bread_jam.confidence == pytest.approx(2 / 3)
    assert bread_jam.lift == pytest.approx((2 / 3) / (2 / 5))
    butter_jam = pairs[("butter", "jam")]
    assert butter_jam.lift == pytest.approx((1 / 3) / (2 / 5))
    assert not any("milk" in key for key in pairs)  # never bought together with anything


def test_item_pairs_ordered_by_lift_and_filtered_by_support() -> None:
    pairs = item_pairs(build_baskets(PURCHASES), min_support=0.3)
    assert all(p.support >= 0.3 for p in pairs)
    lifts = [p.lift for p in pairs]
    assert lifts == sorted(lifts, reverse=True)


def test_recommendations_by_hand() -> None:
    recs = recommend(build_baskets(PURCHASES), top_n=2)
    # c3 owns bread, jam: butter scores conf(bread->butter) + conf(jam->butter) = 2/3 + 1/2.
    assert [r.product for r in recs["c3"]] == ["butter"]
    assert recs["c3"][0].score == pytest.approx(2 / 3 + 1 / 2)
    # c4 owns butter: bread 2/3, jam 1/3.
    assert [r.product for r in recs["c4"]] == ["bread", "jam"]
    assert [r.score for r in recs["c4"]] == pytest.approx([2 / 3, 1 / 3])
    # c1 owns bread, butter: jam = 2/3 + 1/3 = 1.0; milk never co-occurs so is not offered.
    assert [r.product for r in recs["c1"]] == ["jam"]
    assert recs["c2"] == []  # owns every co-occurring product
    assert recs["c5"] == []  # milk co-occurs with nothing


def test_ties_break_by_product_name() -> None:
    purchases = [("a", "x"), ("a", "zeta"), ("a", "alpha"), ("b", "x")]
    recs = recommend(build_baskets(purchases), top_n=5)
    assert [r.product for r in recs["b"]] == ["alpha", "zeta"]  # equal scores: names ascending
    assert recommend(build_baskets(list(reversed(purchases))), top_n=5) == recs


def test_top_n_must_be_positive() -> None:
    with pytest.raises(InputError):
        recommend(build_baskets(PURCHASES), top_n=0)
