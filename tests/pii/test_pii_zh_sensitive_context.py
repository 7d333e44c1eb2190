"""Chinese sensitive terms that are a fact only in a person's context (issue 13, H11): sentences written for
these tests, Simplified and Traditional.

An institution (a hospital, a church, a temple, a prison), a doctrine or a people, a noun with an ordinary
first sense (人流) or what befalls a firm (破产) is withheld when a person is in its clause or a verb sends
someone there ("去医院", "在看守所", "信佛教", "做了人流"); a landmark, a building, a named institution, a
subject, a firm's news survive (the named place is masked as a place).  Fails closed: a pronoun, a person
or a noun of person in the clause keeps the fact withheld.
"""

from __future__ import annotations

import pytest
from corpus_tools import masked_zh, sensitive_categories_zh

from core.pii import PiiEngine
from core.pii.recognizers.sensitive_terms_zh import (
    GROUP_TERMS_ZH,
    INSTITUTION_TERMS_ZH,
    OBJECT_TERMS_ZH,
    ORG_EVENT_TERMS_ZH,
    TERMS_ZH,
)

KEY = b"zh-sensitive-context-key-0123"


def _masked(engine: PiiEngine, text: str) -> str:
    return masked_zh(engine, text, KEY)


def _categories(engine: PiiEngine, text: str) -> set[str]:
    return sensitive_categories_zh(engine, text)


# (text, category withheld, a word of the fact that must not survive, a clause that must survive)
FACTS = [
    ("他每周日去教堂，周五后再联系。", "religion", "教堂", "周五后再联系"),
    ("他每週日去教堂，週五後再聯繫。", "religion", "教堂", "週五後再聯繫"),  # Traditional
    ("我妈住进了人民医院，沙发订单下周再说。", "health", "医院", "沙发订单下周再说"),
    ("我媽住進了人民醫院，沙發訂單下週再說。", "health", "醫院", "沙發訂單下週再說"),
    ("他们已将老人送往通惠医院安置。", "health", "医院", ""),
    ("客户上周去医院复诊了，请月底再打电话。", "health", "医院", "请月底再打电话"),
    ("最近常跑医院，订单先不急。", "health", "医院", "订单先不急"),  # no subject: the verb sends
    ("每週上教堂。", "religion", "教堂", ""),
    ("在海淀看守所待了两年，现在找工作。", "criminal_record", "看守所", ""),
    ("他在監獄裡待了三年。", "criminal_record", "監獄", ""),
    ("她信仰伊斯兰教，不吃猪肉。", "religion", "伊斯兰", ""),
    ("客户是藏族人，喜欢红色。", "ethnicity", "藏族", "喜欢红色"),
    ("客戶是藏族人，喜歡紅色。", "ethnicity", "藏族", "喜歡紅色"),
    ("是藏族，喜欢红色。", "ethnicity", "藏族", "喜欢红色"),  # no subject: the verb of belonging
    ("上周做了人流，下周来店。", "pregnancy", "人流", "下周来店"),
    ("她上週做了人流。", "pregnancy", "人流", ""),
    ("她的公司上个月破产了，货款请宽限。", "financial_distress", "破产", "货款请宽限"),
    ("公司上个月破产了。", "financial_distress", "破产", ""),  # no organisation named: fail closed
    ("她在精神病医院住过。", "mental_health", "精神病", ""),
    ("三名消防员在火场牺牲。", "bereavement", "牺牲", ""),
]


@pytest.mark.parametrize(("text", "category", "fact", "survives"), FACTS)
def test_fact_about_a_person_is_withheld(
    engine: PiiEngine, text: str, category: str, fact: str, survives: str
) -> None:
    assert category in _categories(engine, text), text
    out = _masked(engine, text)
    assert f"[withheld: {category}" in out or f", {category}" in out, out
    assert fact not in out, out
    assert survives in out, out


# (text, a word that must survive, the sensitive term that must not be found)
MENTIONS = [
    ("我去教堂附近的咖啡店买了蛋糕。", "附近的", "教堂"),  # a landmark
    ("我去教堂附近的咖啡店買了蛋糕。", "附近的", "教堂"),
    ("在人民医院门口等我。", "门口等我", "医院"),
    ("在人民醫院門口等我。", "門口等我", "醫院"),
    ("圣母教堂很漂亮，值得一看。", "很漂亮", "教堂"),  # a building, named
    ("聖母教堂很漂亮，值得一看。", "很漂亮", "教堂"),
    ("武汉学院心理咨询中心预祝演出圆满成功。", "预祝演出圆满成功", "心理咨询"),  # an organisation's name
    ("那里有很多寺庙和博物馆。", "博物馆", "寺庙"),
    ("这本书讲的是宗教史。", "这本书讲的是", "宗教"),  # a subject
    ("这本书讲的是宗教史。", "这本书讲的是", "宗教"),
    ("甘南最好看的是藏族民间艺术。", "民间艺术", "藏族"),
    ("世博园里如潮的人流，成为小贩眼中的客源。", "如潮的人流", "人流"),  # a stream of people
    ("世博園裡如潮的人流，成為小販眼中的客源。", "如潮的人流", "人流"),
    ("雷曼兄弟公司几天前申请破产。", "几天前申请破产", "破产"),  # a firm's news
    ("志愿军所付出的牺牲很大。", "付出的牺牲", "牺牲"),  # a sacrifice
]


@pytest.mark.parametrize(("text", "survives", "term"), MENTIONS)
def test_mention_of_a_thing_survives(engine: PiiEngine, text: str, survives: str, term: str) -> None:
    out = _masked(engine, text)
    assert "[withheld" not in out, out
    assert survives in out, out


def test_named_hospital_is_masked_as_a_place(engine: PiiEngine) -> None:
    out = _masked(engine, "妇幼保健医院的电话是多少？")
    assert "妇幼保健" not in out and "[withheld" not in out, out
    assert "的电话是多少" in out, out


@pytest.mark.parametrize(
    "text",
    [
        "他在人民医院门口摔倒了。",  # a landmark, but the accident is a term of its own
        "我們醫院的護士說她住院了。",  # a person in the clause and a term of its own
        "你会看到那座教堂。",  # a person in the clause keeps an institution (fail closed)
        "大量犹太系评委拒绝投票。",  # a noun of person in the clause
    ],
)
def test_person_in_the_clause_fails_closed(engine: PiiEngine, text: str) -> None:
    assert "[withheld" in _masked(engine, text), text


def test_the_rules_only_reading_fails_closed() -> None:
    """Without the model there is no reading of the clause: every term stays a finding."""
    rules = PiiEngine.create(zh_model="rules")
    assert "religion" in _categories(rules, "圣母教堂很漂亮。")


def test_classes_are_terms_of_the_lists() -> None:
    terms = {t for values in TERMS_ZH.values() for t in values}
    for cls in (INSTITUTION_TERMS_ZH, GROUP_TERMS_ZH, OBJECT_TERMS_ZH, ORG_EVENT_TERMS_ZH):
        assert cls <= terms
