"""Chinese entity spans that mask no more than they must (issue 13): sentences written for these tests.

A span ends where the entity ends: an emoticon code of the social platforms ("[奥特曼]", "[bm可爱]") is a
picture's caption, not a name (a code with the shape of a full name, or a name found elsewhere in the
text, stays masked); an @-handle that runs on into the sentence ends before a count ("几位", "两位"); a
verb of motion before a facility's head noun is a predicate, not a shop's name ("我们进入公园"); a middle
dot joins the parts of one transliterated name, not ordinary words ("投票•第六届") nor two names with a
verb between them; a member of a list of people ends where the name found ends ("陈某 有…"); a run of
divisions ends before a localiser ("郑州市 附近地区"), and a place before a word of its area
("广州地区").  In each
case the name, place or shop itself stays masked (fail closed).
"""

from __future__ import annotations

import pytest

from core.pii import EXPORT_POLICY, PiiEngine, mask

KEY = b"zh-spans-key-0123456789abcdef"


def _masked(engine: PiiEngine, text: str) -> str:
    out = mask(text, engine.analyse(text, lang="zh"), policy=EXPORT_POLICY, hash_key=KEY)
    assert out is not None
    return out


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("今天终于放假了[奥特曼][哈哈]", "[奥特曼]"),  # an emoticon code the model reads as a person
        ("收到礼物啦[bm可爱]", "[bm可爱]"),  # an emoticon pack's Latin prefix
        ("这个太棒了[good]", "[good]"),
        ("我们进入公园散步", "进入公园散步"),  # a verb of motion and its object
        ("他留在商场等我", "留在商场"),
        ("投票•第六届汽车文化节开始了", "投票•第六届汽车文化节"),  # a numeral after the dot
        ("《我的故事·我的歌》很好听", "我的故事·我的歌"),  # a title: a pronoun right after the dot
        ("中国体育彩票·新长城助学基金成立", "彩票·新长城"),  # ordinary words on both sides
    ],
)
def test_no_name_or_place_where_there_is_none(engine: PiiEngine, text: str, kept: str) -> None:
    out = _masked(engine, text)
    assert kept in out, out


@pytest.mark.parametrize(
    ("text", "secrets", "kept"),
    [
        # a run-on handle ends before the count that starts the sentence's phrase
        ("谢谢@王小明两位朋友一起来，好开心", ("王小明",), "两位朋友一起来"),
        # two transliterated names with a verb between them are two names, not one span
        ("玛丽·居里击败了对手约翰·史密斯，全场欢呼", ("玛丽·居里", "约翰·史密斯"), "击败了对手"),
        # a name inside a title ends before the conjunction
        ("我读过《哈利·波特与魔法石》", ("哈利·波特",), "与魔法石"),
        # an initial between the dots belongs to the name
        ("约翰·F·肯尼迪说过这句话", ("肯尼迪", "约翰"), "说过这句话"),
        # a place ends before a localiser: the area near a city is no part of its name
        ("他住在河南省郑州市附近地区的一个村子", ("郑州",), "附近地区"),
        # the area of a place is no part of its name, unless the whole is a division (阿里地区)
        ("广州地区的客户都收到了", ("广州",), "地区的客户"),
        # a member of a list ends where the name found ends
        ("王某、陈某有重大嫌疑", ("王某", "陈某"), "有重大嫌疑"),
        ("钱某和李某为本地居民", ("钱某", "李某"), "为本地居民"),
    ],
)
def test_span_ends_where_the_entity_ends(
    engine: PiiEngine, text: str, secrets: tuple[str, ...], kept: str
) -> None:
    out = _masked(engine, text)
    for secret in secrets:
        assert secret not in out, out
    assert kept in out, out


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("负责人是[王建国]", "王建国"),  # a full name's shape in brackets is a name
        ("奥特曼说他明天来[奥特曼]", "奥特曼"),  # a name found elsewhere is found in the code too
        ("他在阿里地区工作", "阿里地区"),  # a prefecture
        ("在必读酒店住了一晚", "必读酒店"),  # a shop's name after a preposition stays a place
        ("安吉丽娜·茱莉来了", "茱莉"),
        ("我們進入公園後見到了安吉麗娜·茱莉", "茱莉"),  # Traditional
    ],
)
def test_still_masked(engine: PiiEngine, text: str, secret: str) -> None:
    out = _masked(engine, text)
    assert secret not in out, out
