"""Latin words in Chinese notes: trademarks and file extensions are no names;
a person's name in Latin letters still is (issue 13)."""

from __future__ import annotations

import pytest

from core.pii import EXPORT_POLICY, PiiEngine, mask
from core.pii.recognizers.zh_entities import latin_common_word, latin_english_word

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


@pytest.mark.parametrize(
    ("word", "english"),
    [
        # English words used as words in a Chinese note: lower case or capitalised
        ("Hold", True),
        ("Happy", True),
        ("forever", True),
        ("me", True),
        ("extra", True),
        ("cheap", True),
        ("touch", True),
        ("Click", True),
        ("Super", True),
        ("Tooth", True),
        # three or more common words written together: a phrase
        ("Itisright", True),
        ("Ineedyou", True),
        # a word that is also a given name or a family name stays a name
        ("Grace", False),
        ("Rose", False),
        ("Will", False),
        ("Young", False),
        ("Eric", False),
        ("Monica", False),
        ("Sky", False),
        ("Moon", False),
        ("amy", False),
        # a place is no common word
        ("Paris", False),
        ("London", False),
        # two words together may be a family name (Goodman, Newman): not a phrase by this rule
        ("Goodman", False),
        ("Likethe", False),
        # capitals: a band, a gamer, an abbreviation
        ("SHE", False),
        ("WE", False),
        ("HOLD", False),
        # mixed case, digits, no English word
        ("MagicYang", False),
        ("TH000", False),
        ("xigua", False),
        ("Infi", False),
    ],
)
def test_latin_english_word(word: str, english: bool) -> None:
    assert latin_english_word(word) is english


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("怎么样？Hold住没？Hold住了就吼一声吧~", "Hold"),
        ("呵呵好莱坞的extra群众演员演戏", "extra"),
        ("做人做的像条狗cheap？敢不敢", "cheap"),
        ("今天心情超级happy哦，forever开心", "forever"),
    ],
)
def test_english_words_kept(engine: PiiEngine, text: str, word: str) -> None:
    assert word in masked(engine, text)


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("我的朋友Grace明天来店里。", "Grace"),
        ("昨天和Rose一起吃饭。", "Rose"),
        ("顶尖魔兽争霸人族选手Sky、", "Sky"),
        ("今天@forever蜜柑来店里", "forever"),  # a handle stays masked whole
    ],
)
def test_names_that_are_words_still_masked(engine: PiiEngine, text: str, word: str) -> None:
    assert word not in masked(engine, text)
