from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.pii.normaliser import normalise


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("１３８００１３８０００", "13800138000"),  # full-width digits
        ("ｊｏｈｎ＠ｑｑ．ｃｏｍ", "john@qq.com"),  # full-width letters and symbols
        ("07700\u200b900\u200d123", "07700900123"),  # zero-width characters removed
        ("call O77OO 9OO123", "call 07700 900123"),  # O as zero inside digit runs
        ("ref l23456", "ref 123456"),  # l as one
        ("Oslo office", "Oslo office"),  # words are left alone
        ("plain ascii text", "plain ascii text"),  # fast path
    ],
)
def test_normalise_table(raw: str, expected: str) -> None:
    assert normalise(raw).text == expected


def test_span_maps_back_to_original_characters() -> None:
    raw = "tel: １３８\u200b００１３８０００ ok"
    norm = normalise(raw)
    start = norm.text.index("138")
    s, e = norm.to_original(start, start + 11)
    assert raw[s:e] == "１３８\u200b００１３８０００"


@given(st.text(alphabet=st.sampled_from("aO0l1 １２ｘ\u200b\u200c,.-王"), max_size=40))
def test_offsets_stay_inside_original(raw: str) -> None:
    norm = normalise(raw)
    for i in range(len(norm.text)):
        s, e = norm.to_original(i, i + 1)
        assert 0 <= s < e <= len(raw)
