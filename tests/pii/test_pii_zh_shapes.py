"""Chinese names and sensitive terms by shape (issue 13, third pass): sentences written for these tests.

Nicknames with 小/阿/老 where they are named or speak, a pseudonym said to be one, members of a list of
people, doubled pet names of the family or called by name; Simplified and Traditional.  And what must
survive: a sensitive term that the model's reading says is not there (a term cutting through two words,
inside a title or an emoticon, 死了 as "terribly"), a "district" made of ordinary words, ordinary words
after 我是.  Where a term is really there it stays withheld (fail closed).
"""

from __future__ import annotations

import pytest

from core.pii import EXPORT_POLICY, PiiEngine, mask

KEY = b"zh-shapes-key-0123456789abcd"


def _masked(engine: PiiEngine, text: str) -> str:
    out = mask(text, engine.analyse(text, lang="zh"), policy=EXPORT_POLICY, hash_key=KEY)
    assert out is not None
    return out


@pytest.mark.parametrize(
    ("text", "secret", "kept"),
    [
        ("大家都叫我阿袁，有事找我", "阿袁", "有事找我"),  # a nickname after a verb of naming
        ("我叫小新，住在城东", "小新", "住在"),
        ("他的外號小胖，說話很快", "小胖", "說話很快"),  # Traditional
        ("阿袁说明天来取货", "阿袁", "来取货"),  # a nickname before a verb of saying
        ("受访者钱海洋（化名）表示不满", "海洋", "表示不满"),  # a pseudonym
        ("受訪者錢海洋（化名）表示不滿", "海洋", "表示不滿"),  # Traditional
        ("参加会议的有王建国、展望、刘晓东三人", "展望", "参加会议"),  # between two people in a list
        ("我家胖胖今天很乖", "胖胖", "今天很乖"),  # a doubled pet name of the family
        ("额，浪浪，你太绝了", "浪浪", "你太绝了"),  # called by name, cut in two by the model
        ("我是小V，今天一起上头条", "小V", "今天一起上头条"),
        ("寄到台北市大安區忠孝東路四段100號5樓，謝謝", "100號5樓", "謝謝"),  # a road's section (Taiwan)
    ],
)
def test_found_by_shape(engine: PiiEngine, text: str, secret: str, kept: str) -> None:
    out = _masked(engine, text)
    assert secret not in out, out
    assert kept in out, out


def test_a_nickname_found_once_is_masked_everywhere(engine: PiiEngine) -> None:
    out = _masked(engine, "大家都叫我阿袁。阿袁明天到店里")
    assert "阿袁" not in out, out
    assert "明天到店里" in out, out


@pytest.mark.parametrize(
    "text",
    [
        "让别人流泪的人不值得",  # 人流 cuts through 别人|流泪
        "他获得过世界冠军",  # 过世 cuts through 过|世界
        "今天热死了，想吃冰淇淋",  # 死了 as "terribly"
        "感冒了，难受死了",
        "我们去看了《死亡诗社》",  # inside the title of a work
        "今天真开心[生病]",  # inside an emoticon code
        "不可能掌握全市各个地区的情况",  # 市 and 区 in ordinary words make no address
        "我是老客户，想退货",  # ordinary words after 我是 are no nickname
        "我是小学生。",
        "你慢慢来，看看再说",  # a doubled verb is no pet name
        "谢谢你的帮助",
        "我们在销售中心见",  # a verbal noun before 中心 names its function, not a place
    ],
)
def test_ordinary_text_survives(engine: PiiEngine, text: str) -> None:
    assert _masked(engine, text) == text


@pytest.mark.parametrize(
    ("text", "term", "kept"),
    [
        ("他被车撞死了，家属明天来", "撞死", "家属明天来"),  # a cut word holding a term keeps it
        ("他滑雪时摔断了腿，安装推迟", "摔断", "安装推迟"),  # 摔|断了: only a particle is cut off
        ("他被人打死了，案子还在查", "死了", "案子还在查"),  # 打 is no degree of 死
        ("他父親上週過世了，請月底再聯繫", "過世", "請月底再聯繫"),  # Traditional
        ("客户的母亲上周去世了，请20号后再联系", "去世", "请20号后再联系"),
    ],
)
def test_real_sensitive_facts_stay_withheld(engine: PiiEngine, text: str, term: str, kept: str) -> None:
    out = _masked(engine, text)
    assert term not in out and "[withheld:" in out, out
    assert kept in out, out
