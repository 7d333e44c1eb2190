"""Red-team classes of issue 12 that reached a letter: CRM shorthand, terms glued to numbers,
and Chinese remarks split by dots, middle dots or underscores.

Each class is checked as a table of remarks, in a name and in an address field, at import
(:class:`core.pii.screen.CustomerFieldScreen`), and innocent look-alikes that must pass.
"""

from __future__ import annotations

import pytest

from core.pii.normaliser import skeletons
from core.pii.screen import CustomerFieldScreen, SensitiveScreen

SCREEN = CustomerFieldScreen()
TERMS = SensitiveScreen.shared()


def _flagged(name: str, address: str) -> bool:
    level, _doc = SCREEN.screen_fields({"full_name": name, "postal_address": address})
    return level == "sensitive"


def _categories(text: str) -> set[str]:
    return {f.category for f in TERMS.findings(text)}


# -- CRM shorthand: abbreviations staff write in notes and brokers leave in name lines -------------

SHORTHAND = [
    ("DOD 14/02/2021", "bereavement"),
    ("dod: 2019", "bereavement"),
    ("NOK notified", "bereavement"),
    ("next of kin advised", "bereavement"),
    ("bereavmt", "bereavement"),
    ("bereavemnt", "bereavement"),
    ("exor dealing", "bereavement"),
    ("executrix", "bereavement"),
    ("estate of late", "bereavement"),
    ("end of life", "bereavement"),
    ("terminal dx", "health"),
    ("ca dx", "health"),
    ("dx of ms", "health"),
    ("MND", "health"),
    ("motor neuron disease", "health"),
    ("stroke survivor", "health"),
    ("heroin addict", "addiction"),
    ("crack users", "addiction"),
    ("OD'd", "addiction"),
    ("overdosed", "addiction"),
    ("AA sponsor", "addiction"),
    ("MH crisis", "mental_health"),
    ("mh issues", "mental_health"),
    ("DMP", "financial_distress"),
    ("debt mgmt plan", "financial_distress"),
    ("debt relief order", "financial_distress"),
]


@pytest.mark.parametrize(("remark", "category"), SHORTHAND)
def test_shorthand_has_its_category(remark: str, category: str) -> None:
    assert category in _categories(f"Note: {remark}")


@pytest.mark.parametrize(("remark", "category"), SHORTHAND)
def test_shorthand_in_a_name_or_address_is_stopped(remark: str, category: str) -> None:
    assert _flagged(f"Mrs Jane Doe {remark}", "4 Elm Close, York YO1 7HH")
    assert _flagged("Mrs Jane Doe", f"4 Elm Close {remark}, York YO1 7HH")


@pytest.mark.parametrize(
    "text",
    [
        "Executive Director",  # execut- of a job title, not an executor
        "Dodd & Sons Ltd",
        "Dodworth Road, Barnsley S70 6PG",
        "Ref MH 12",  # "mh" alone is no term, only with its qualifier (MH issues)
        "Stroke Street",
        "Ref AA123",
    ],
)
def test_shorthand_does_not_catch_ordinary_words(text: str) -> None:
    assert not _categories(text)


# -- a term glued to a number or an underscore: RIP2023, Bankruptcy2020, son_died_2021 ---------

GLUED = [
    "RIP2023",
    "RIP_2023",
    "2023RIP",
    "Bankruptcy2020",
    "bankruptcy_2020",
    "Deceased2019",
    "son_died_2021",
    "IVA2022",
    "CCJ_2018",
    "Divorced2020",
]


@pytest.mark.parametrize("remark", GLUED)
def test_term_glued_to_a_number_is_found(remark: str) -> None:
    assert _categories(remark), remark


@pytest.mark.parametrize("remark", GLUED)
def test_term_glued_to_a_number_is_stopped_in_fields(remark: str) -> None:
    assert _flagged(f"Mr Tom Hale {remark}", "9 Kings Road, Reading RG1 3AA")
    assert _flagged("Mr Tom Hale", f"9 Kings Road {remark}, Reading RG1 3AA")


@pytest.mark.parametrize(
    "text",
    [
        "Flat 2B, 14 Ripley Road, Derby DE5 3AB",
        "Unit 4A Ivanhoe Park, Ashby LE65 1JF",
        "Carlisle CA1 2AB",
        "Ref X9Q7-21",
        "Tripp2023",  # a term inside a longer word stays inside it
    ],
)
def test_numbers_beside_ordinary_words_stay_clean(text: str) -> None:
    assert not _categories(text)


# -- Chinese remarks split by dots, middle dots, underscores --------------------------------------

ZH_REMARKS = [
    "病逝",
    "车祸去世",
    "車禍身亡",
    "破產",
    "离婚",
    "抑鬱症",
    "憂鬱症",
    "流產",
    "死胎",
    "坐过牢",
    "吸毒",
    "已故",
]
ZH_SEPARATORS = ["·", "_", ".", "‧", "・", "-", "_ ", " · "]


@pytest.mark.parametrize("remark", ZH_REMARKS)
@pytest.mark.parametrize("sep", ZH_SEPARATORS)
def test_chinese_remark_split_by_separators_is_found(remark: str, sep: str) -> None:
    split = sep.join(remark)
    assert _categories(f"王小明 {split}"), split
    assert _flagged(f"王小明 {split}", "上海市浦东新区世纪大道100号")
    assert _flagged("王小明", f"台北市信義區松仁路5號 {split}")


def test_chinese_separators_fold_in_the_skeleton() -> None:
    assert skeletons("车·祸_去.世")[0].text == "车祸去世"
    assert skeletons("约翰·史密斯")[0].text == "约翰史密斯"  # a transliterated name reads as one word
    assert skeletons("Ann.Lee")[0].text == "ann lee"  # Latin words still split


@pytest.mark.parametrize("name", ["约翰·史密斯", "玛丽·居里", "迈克尔·杰克逊"])
def test_transliterated_chinese_names_pass(name: str) -> None:
    assert not _flagged(name, "上海市浦东新区世纪大道100号")


# -- a term ending in a function word is no street's name; years glued with an underscore ---------


@pytest.mark.parametrize(
    "address",
    [
        "7 Mill Lane exor of estate, Cork",
        "Flat 2 (Executors of Estate), 14 High Street, Leeds",
        "22 Oak Road DOD_2022",
    ],
)
def test_remark_before_a_street_word_is_no_street(address: str) -> None:
    assert _flagged("Ann Lee", address)


@pytest.mark.parametrize(
    "address", ["4 Cemetery Road, Leeds", "2 Hospice Way, York", "Park Royal Industrial Estate"]
)
def test_streets_named_with_a_term_still_pass(address: str) -> None:
    assert not _flagged("Ann Lee", address)


@pytest.mark.parametrize("remark", ["Passed2023", "passed_2021", "DOD_2022", "dod:2019"])
def test_year_glued_to_a_remark(remark: str) -> None:
    assert "bereavement" in _categories(remark)


# -- Traditional Chinese addresses: words after the house number (號) are a remark -----------------


@pytest.mark.parametrize("remark", ["家屬請勿打擾", "家属请勿打扰", "本人已搬走"])
@pytest.mark.parametrize(
    "address", ["台北市信義區松仁路5號", "香港九龍彌敦道100號3樓", "上海市浦东新区世纪大道100号"]
)
def test_words_after_a_chinese_house_number_are_extra_text(remark: str, address: str) -> None:
    assert _flagged("王小明", f"{address} {remark}")


@pytest.mark.parametrize(
    "address", ["台北市信義區松仁路5號", "香港九龍彌敦道100號3樓", "台北市大安區復興南路一段390號2樓"]
)
def test_traditional_chinese_addresses_pass(address: str) -> None:
    assert not _flagged("陳大文", address)
