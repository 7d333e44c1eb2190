"""Chinese personal data: phones, resident ID with checksum, bank card with Luhn, address, names."""

from __future__ import annotations

import pytest

from core.pii.recognizers import cn_personal
from core.pii.recognizers.cn_personal import cn_personal_recognizers, luhn_ok, valid_resident_id
from core.pii.recognizers.zh_names import ChineseNameRecognizer

VALID_ID = "11010519491231002X"  # the GB 11643 worked example
VALID_CARD = "6222021234567890128"


def _found(text: str) -> list[tuple[str, str]]:
    out = []
    for recognizer in [*cn_personal_recognizers(), ChineseNameRecognizer()]:
        out += [(r.entity_type, text[r.start : r.end]) for r in recognizer.analyze(text, [])]
    return out


def test_resident_id_checksum() -> None:
    assert valid_resident_id(VALID_ID)
    assert valid_resident_id(VALID_ID.lower())
    assert not valid_resident_id(VALID_ID[:-1] + "5")  # wrong check character
    assert not valid_resident_id("11010519491231002")  # 17 characters


def test_luhn() -> None:
    assert luhn_ok(VALID_CARD)
    assert not luhn_ok(VALID_CARD[:-1] + "9")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"身份证{VALID_ID}用于开票", ("CN_RESIDENT_ID", VALID_ID)),  # glued to Chinese: no \b needed
        ("手机13800138000请回电", ("PHONE_NUMBER", "13800138000")),
        ("手机 138 0013 8000", ("PHONE_NUMBER", "138 0013 8000")),
        ("+86 139-1234-5678", ("PHONE_NUMBER", "+86 139-1234-5678")),
        ("座机010-62345678", ("PHONE_NUMBER", "010-62345678")),
        (f"卡号{VALID_CARD}", ("BANK_CARD", VALID_CARD)),
        ("寄到北京市朝阳区建国路88号3号楼1201室。", ("ADDRESS", "北京市朝阳区建国路88号3号楼1201室")),
        ("王小明先生来电", ("PERSON", "王小明")),  # name before a title, title not included
        ("她丈夫李建国去世了", ("PERSON", "李建国")),  # name after a relation
        ("收件人：孙丽，电话", ("PERSON", "孙丽")),  # name after a label
        ("请联系张总，谢谢", ("PERSON", "张")),  # surname with a short title
    ],
)
def test_found(text: str, expected: tuple[str, str]) -> None:
    assert expected in _found(text)


@pytest.mark.parametrize(
    "text",
    [
        f"身份证{VALID_ID[:-1]}5",  # checksum fails
        "卡号6222021234567890129",  # Luhn fails
        "反映手机应用总是自动退出",  # "应用总是" is not a name
        "对安装师傅的服务很满意",  # "安装师傅" is not a name
    ],
)
def test_not_found(text: str) -> None:
    types = {t for t, _ in _found(text)}
    assert not types & {"CN_RESIDENT_ID", "BANK_CARD", "PERSON"}


def test_chinese_patterns_do_not_use_word_boundaries() -> None:
    for name in dir(cn_personal):
        value = getattr(cn_personal, name)
        if hasattr(value, "pattern") and isinstance(value.pattern, str):
            assert "\\b" not in value.pattern, name
