"""The English word lists of core.pii.latin_words: the lemma index is read without srsly or numpy."""

from __future__ import annotations

import sys

import pytest
import srsly  # type: ignore[import-untyped]

from core.pii import latin_words


def test_the_reader_returns_one_key_and_skips_the_rest() -> None:
    data = srsly.msgpack_dumps(
        {
            "rules": [1, -3, 300, -70000, 2**63, 2.5, None, True, b"raw", {"k": "v"}, "x" * 40, "y" * 300],
            "index": {12401032943472870168: ["sweetly", "bust"], 7: []},
        }
    )
    assert latin_words._read_msgpack_key(data, "index") == {
        12401032943472870168: ["sweetly", "bust"],
        7: [],
    }
    with pytest.raises(KeyError):
        latin_words._read_msgpack_key(data, "absent")
    with pytest.raises(ValueError):
        latin_words._read_msgpack_key(data[:-3], "index")  # cut short


def test_the_lemma_index_is_the_models_and_costs_no_numpy() -> None:
    index = latin_words._lemma_index()
    assert {"sweetly", "bust", "extra", "cheap"} <= index
    assert len(index) > 50_000
    assert latin_words.english_word("extra") and not latin_words.english_word("Grace")
    if "numpy" not in sys.modules:  # nothing else loaded it in this test process
        latin_words._lemma_index.cache_clear()
        latin_words._lemma_index()
        assert "numpy" not in sys.modules
