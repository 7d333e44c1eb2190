"""Latin words in Chinese notes: trademarks and file extensions are no names;
a person's name in Latin letters still is (issue 13)."""

from __future__ import annotations

import pytest

from core.pii import EXPORT_POLICY, PiiEngine, mask
from core.pii.recognizers.zh_entities import latin_common_word

KEY = b"zh-latin-key-0123456789abcdef"


def masked(engine: PiiEngine, text: str) -> str:
    return mask(text, engine.analyse(text), policy=EXPORT_POLICY, hash_key=KEY)


@pytest.mark.parametrize(
    ("text", "word", "common"),
    [
        ("转发送iPadmini好想呀", "iPadmini", True),
        ("今天去预约了iPhone5s", "iPhone5s", True),
        ("扫描版.pdf推荐你看", "pdf", True),
        ("我WE一定能赢", "WE", False),  # a capitalised word may be a handle or a band
        ("广州，SHE演唱会", "SHE", False),
        ("我的朋友Eric明天来", "Eric", False),
        ("Monica说她明天来", "Monica", False),
        ("一个pdf文件", "pdf", False),  # no file name: not read as an extension
    ],
)
def test_latin_common_word(text: str, word: str, common: bool) -> None:
    start = text.index(word)
    assert latin_common_word(text, start, start + len(word)) is common


@pytest.mark.parametrize(
    ("text", "word"),
    [("今天去预约了iPhone5s，土豪金色。", "iPhone5s"), ("记.释净空.扫描版.pdf，推荐你也来看看哦", "pdf")],
)
def test_trademarks_and_extensions_kept(engine: PiiEngine, text: str, word: str) -> None:
    assert word in masked(engine, text)


@pytest.mark.parametrize(
    ("text", "word"), [("我的朋友Eric明天来店里。", "Eric"), ("昨天和Monica一起吃饭。", "Monica")]
)
def test_latin_names_still_masked(engine: PiiEngine, text: str, word: str) -> None:
    assert word not in masked(engine, text)
