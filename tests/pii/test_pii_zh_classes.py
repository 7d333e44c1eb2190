"""Chinese classes of failure fixed in issue 13, fourth pass: sentences written for these tests.

Each rule is checked both ways: the everyday or figurative use survives, the fact about a person (or the
name) is still masked.

* a sensitive term inside a closed @-handle (the handle is masked as a name, the term states nothing), not
  inside one that runs on into the sentence; inside a title of the note named again without brackets;
* 想不开 after a degree adverb (a trait), 无障碍 as an adverb of manner before a verb, 洗礼 as a trial;
* a general statement of what may cause a condition or what it goes with, in a clause with no person;
* laughter read into an organisation's name, a link glued to a handle, an English finding of a mixed note
  that runs across Chinese punctuation;
* a division's short form that the model reads as an ordinary word (白银 as silver);
* names: a doubled pet name after a verb of saying or before 外号, 小/阿 and a name where a name stands, a
  surname and a one-character given name the first reading takes for an adverb, a list member whose given
  name shares its first character with the person beside it.
"""

from __future__ import annotations

import pytest
from corpus_tools import masked_zh, sensitive_categories_zh

from core.pii import PiiEngine

KEY = b"zh-classes-key-0123456789abcd"


def _masked(engine: PiiEngine, text: str, lang: str = "zh") -> str:
    return masked_zh(engine, text, KEY, lang)


def _categories(engine: PiiEngine, text: str) -> set[str]:
    return sensitive_categories_zh(engine, text)


# (text, a fact that is no fact about anyone: no sensitive category, the words survive)
NOT_A_FACT = [
    ("又要胖了！@你的声音躲在我耳朵里让我生病@连铭杰", "生病"),
    ("刚看了《天天有喜》，演得不错。#三色番茄天天有喜#观看地址", "天天有喜#观看"),
    ("反复告诉自己，自己为什么就是这么想不开呢", "这么想不开"),
    ("思念牌水饺在北京检出可导致肺炎病原菌，超市连夜下架", "可导致肺炎病原菌"),
    ("额头皱纹和抑郁症有关，鼻梁皱纹和记忆力有关", "额头皱纹和抑郁症有关"),
    ("古堡后来经历了无数次战争硝烟的洗礼，现在可供游人参观", "战争硝烟的洗礼"),
    ("优化语音辅助功能，无障碍获取信息。", "无障碍获取信息"),
]

# (text, category that must still be withheld, a word of the fact that must not survive)
STILL_A_FACT = [
    ("@小明生病了，大家帮帮他", "health", "生病"),
    ("刚看了《天天有喜》，她说她有喜了", "pregnancy", "有喜了"),
    ("她在看《离婚律师》，还说想找个离婚律师", "family_breakdown", "找个离婚"),
    ("听说他一时想不开", "mental_health", "想不开"),
    ("他上周确诊肺炎，订单下月再说", "health", "肺炎"),
    ("他的失眠和抑郁症有关", "mental_health", "抑郁症"),
    ("吸烟可导致他患肺癌", "health", "肺癌"),
    ("客户上周接受了洗礼", "religion", "洗礼"),
    ("他需要无障碍通道", "disability", "无障碍"),
]


@pytest.mark.parametrize(("text", "kept"), NOT_A_FACT)
def test_everyday_uses_are_no_fact(engine: PiiEngine, text: str, kept: str) -> None:
    assert not _categories(engine, text), text
    assert kept in _masked(engine, text)


@pytest.mark.parametrize(("text", "category", "gone"), STILL_A_FACT)
def test_facts_about_a_person_stay_withheld(engine: PiiEngine, text: str, category: str, gone: str) -> None:
    assert category in _categories(engine, text), text
    out = _masked(engine, text)
    assert gone not in out and "[withheld:" in out, out


# (text, the name that must not survive, what must survive)
NAMES = [
    ("泥巴说解解瘦了，和解解吃素一个月", "解解", "瘦了"),
    ("桥利村丶超超外号小纯洁强烈要求加课", "超超", "强烈要求"),
    ("这次缺了小右，期待下次五人帮的大团聚", "小右", "期待下次"),
    ("去吃的//@胖子:小蚊子晚上去吃火锅不？", "小蚊子", "晚上去吃火锅"),
    ("辣妈中的元宝太滑了，相对明道这类型不错", "明道", "这类型不错"),
    ("真的很好看，期待如画和如风在一起", "如画", "在一起"),
    ("为了明天的希望！@掌阅书城http://t.cn/RhSHSXf", "掌阅书城", "http://t.cn/RhSHSXf"),
]


@pytest.mark.parametrize(("text", "name", "kept"), NAMES)
def test_names_in_their_places(engine: PiiEngine, text: str, name: str, kept: str) -> None:
    out = _masked(engine, text)
    assert name not in out and "<PERSON>" in out, out
    assert kept in out, out


# ordinary words in the same shapes: nothing masked as a person
NOT_NAMES = [
    "他说看看再说吧",
    "妈妈外号叫大王",
    "我们去了小区，人很多",
    "茶几有小划痕，寄去补漆套装。",
    "他常常来店里买东西",
    "爷爷祝您一路走好。",
    "苹果和香蕉都卖完了",
]


@pytest.mark.parametrize("text", NOT_NAMES)
def test_ordinary_words_are_no_names(engine: PiiEngine, text: str) -> None:
    assert "PERSON" not in {f.type for f in engine.analyse(text, lang="zh").findings}, text


def test_laughter_is_no_part_of_a_name(engine: PiiEngine) -> None:
    out = _masked(engine, "我最爱老干妈哈哈哈哈哈哈泰")  # the model reads the whole as one organisation
    assert "老干妈" not in out and "哈哈哈哈哈哈泰" in out, out


def test_english_findings_stop_at_chinese_punctuation(engine: PiiEngine) -> None:
    text = (
        "【推荐十首英文歌曲】1《EhEh》2《Superman》3《Comeonover》4《Breakaway》5《Secondtimearound》"
        "9《Backtodecember》10《Myboyfriendsjeans》"
    )
    analysis = engine.analyse(text)
    assert analysis.language == "mixed"
    for f in analysis.findings:
        assert not any("\u3000" <= c <= "\u303f" for c in text[f.start : f.end]), text[f.start : f.end]
    assert "《Myboyfriendsjeans》" in _masked(engine, text, lang="auto")


# a division's short form that is an everyday word where it stands (白银: silver, 东方: the east)
@pytest.mark.parametrize(
    ("text", "kept"),
    [("一位大户投入160万元，炒起了白银。", "炒起了白银"), ("太阳从东方升起，天亮了", "东方升起")],
)
def test_everyday_words_that_name_a_division(engine: PiiEngine, text: str, kept: str) -> None:
    assert kept in _masked(engine, text)


@pytest.mark.parametrize(("text", "place"), [("客户下月搬去白银市住", "白银"), ("他老家在甘肃白银", "白银")])
def test_the_division_itself_is_still_a_place(engine: PiiEngine, text: str, place: str) -> None:
    out = _masked(engine, text)
    assert place not in out and "<" in out, out
