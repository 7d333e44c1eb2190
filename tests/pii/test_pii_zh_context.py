"""Chinese names and places by their context (issue 13, second pass): sentences written for these tests.

Names after a noun of agent, a title glued to the name by the model, a given name used alone after the
full name, doubled pet names, @-mentions that run on into the sentence, named facilities and places after
a preposition of place; and the ordinary words next to them that must survive.
"""

from __future__ import annotations

import pytest

from core.pii import EXPORT_POLICY, PiiEngine, mask

KEY = b"zh-context-key-0123456789abc"


def _masked(engine: PiiEngine, text: str) -> str:
    out = mask(text, engine.analyse(text, lang="zh"), policy=EXPORT_POLICY, hash_key=KEY)
    assert out is not None
    return out


@pytest.mark.parametrize(
    ("text", "secret", "kept"),
    [
        ("证券分析师高源表示市场平稳", "高源", "分析师"),  # after a noun of agent, before a predicate
        ("执法大队大队长方剑民带队检查", "方剑民", "大队长"),  # title and name read as one word
        ("胡小亭转发了。小亭会寄奖品", "小亭", "会寄奖品"),  # the given name alone, after the full name
        ("感谢兔兔，感谢圆圆。", "兔兔", "感谢"),  # doubled pet names, objects of a verb
        ("壮壮很幸福啊", "壮壮", "很幸福"),  # a doubled pet name opening a clause
        (
            "你在@逆转三国里面的阵容是什么，告诉我",
            "逆转三国",
            "阵容是什么",
        ),  # a mention running on into the text
        ("//@爱改名的人:好好玩", "爱改名的人", "好好玩"),  # a mention closed by a colon stays whole
        ("积分可以在物美超市购物", "物美超市", "购物"),  # a named facility
        ("客户谢天明和妻子宋佳想换一套餐桌", "宋佳", "想换一套餐桌"),  # a kinship word, the name, its verb
        ("记者马力）", "马力", "记者"),  # an ordinary noun after a title, closed: a name
    ],
)
def test_found_in_context(engine: PiiEngine, text: str, secret: str, kept: str) -> None:
    out = _masked(engine, text)
    assert secret not in out, out
    assert kept in out, out


def test_only_the_date_is_masked(engine: PiiEngine) -> None:
    out = _masked(engine, "客户5月18日下午来店，去年12月23日下过单")
    assert "18日" not in out and "23日" not in out, out
    assert "下午来店" in out and "去年" in out, out


def test_latin_titles_and_products_survive_names_do_not(engine: PiiEngine) -> None:
    out = _masked(engine, "他喜欢玩《Quake3》，也在Steam平台买游戏。Eric说好")
    assert "《Quake3》" in out and "Steam平台" in out, out
    assert "Eric" not in out, out


def test_one_character_name_everywhere_it_is_a_word(engine: PiiEngine) -> None:
    out = _masked(engine, "盈讨厌婷，因为婷抢了她的男友，盈的闺蜜都知道。公司盈利很好")
    assert "婷" not in out and "盈的" not in out, out
    assert "盈利很好" in out, out  # the character inside a longer word is not the name


@pytest.mark.parametrize(
    "text",
    [
        "人人有责，天天向上。",  # distributive doubling
        "妈妈说我们慢慢来",  # kinship and adverb doubling
        "我和老师谈过了",  # 和 is a surname, but here a conjunction
        "请允许我向大家介绍一下",  # 向 is a surname, but here a preposition
        "公司的驾驶员集体出行",  # a noun after a noun of agent is not a name
        "消费者权利受法律保护",
        "她说要和老公商量。",  # a verb after a kinship word is the predicate, not a name
        "我问了经理，经理同意。",  # the same after a title
    ],
)
def test_ordinary_words_survive(engine: PiiEngine, text: str) -> None:
    assert _masked(engine, text) == text
