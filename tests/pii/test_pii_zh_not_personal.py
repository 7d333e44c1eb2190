"""Chinese text that names no one and is kept (issue 13, characters kept): sentences written for these tests.

Each rule is checked both ways: what is plainly no personal data survives, and the person's date, name or
handle next to the same shape is still masked.

* the date of a news report's dateline ("新华社北京3月5日电", "据新加坡9月23日消息", "本报讯 6月2日，");
* the date a product, a work or a contest is released or opens ("将于5月3日正式上市", "1月25日推出");
* "vs" between two sides, an English preposition, never part of the names beside it;
* a character three times or more ("耶耶耶") and the tail of a reduplicated adjective ("高高兴兴") read by the
  model as a person;
* an abbreviation in capitals with the year of its edition ("WCG2011") and a Latin name before the class
  of thing it names ("Slayers战队").
"""

from __future__ import annotations

import pytest
from corpus_tools import masked_zh

from core.pii import PiiEngine

KEY = b"zh-not-personal-key-0123456789"


def _masked(engine: PiiEngine, text: str) -> str:
    return masked_zh(engine, text, KEY)


# (text, what must survive whole)
KEPT = [
    ("新华社北京3月5日电，国务院发布通知", "3月5日电"),
    ("据新加坡9月23日消息，燃料油合约上涨", "9月23日消息"),
    ("本报讯 6月2日，市政府召开会议", "6月2日"),
    ("新浪房产讯4月27日，由协会主办", "4月27日"),
    ("这款游戏将于5月3日正式上市。", "5月3日正式上市"),
    ("新片同步于1月25日推出。", "1月25日推出"),
    ("春季赛将于5月27日开战，此次赛事新增项目", "5月27日开战"),
    ("那不勒斯vs锡耶纳", "vs"),
    ("奥萨苏纳队vs瓦拉多利德队", "vs"),
    ("大家都高高兴兴地回家了", "高高兴兴"),
    ("中国足球雄起，太棒了耶耶耶", "耶耶耶"),
    ("三星WCG2011北京赛区星际争霸", "WCG2011"),
    ("来自Slayers战队的选手", "Slayers战队"),
]

# (text, what must not survive, what must survive)
MASKED = [
    ("客户5月3日到店取货", "5月3日", "到店取货"),
    ("他们的婚礼将于5月3日举行", "5月3日", "举行"),
    ("王芳12月1日电话通知我们改地址", "12月1日", "电话通知"),
    ("张伟vs李娜的比赛", "张伟", "vs"),
    ("张伟vs李娜的比赛", "李娜", "的比赛"),
    ("王菲菲明天来店里", "王菲菲", "明天来店里"),
    ("客户LISA说她下周到", "LISA", "下周到"),
    ("选手Sky赢了", "Sky", "赢了"),
]


@pytest.mark.parametrize(("text", "kept"), KEPT)
def test_what_names_no_one_survives(engine: PiiEngine, text: str, kept: str) -> None:
    assert kept in _masked(engine, text)


@pytest.mark.parametrize(("text", "gone", "kept"), MASKED)
def test_dates_and_names_of_people_are_still_masked(
    engine: PiiEngine, text: str, gone: str, kept: str
) -> None:
    out = _masked(engine, text)
    assert gone not in out
    assert kept in out
