"""Places and streets named with a sensitive word are places (issue 12: no false alarms on real places).

China's autonomous regions, prefectures and counties carry the name of a people (宁夏回族自治区,
延边朝鲜族自治州): an address there is an address, and a note naming the place speaks of a place.
Streets and towns named after a person (Christian Oval, New Ramadan, rue de Gay) are streets and
towns.  The same words written as a remark about the customer are still found.
"""

from __future__ import annotations

import json

import pytest

from core.pii.screen import CustomerFieldScreen, SensitiveScreen

SCREEN = CustomerFieldScreen()


def _review(name: str, address: str) -> str | None:
    _sensitivity, analysis = SCREEN.screen_fields({"full_name": name, "postal_address": address})
    if analysis is None:
        return None
    return str(json.loads(analysis)["_review"])


@pytest.mark.parametrize(
    "address",
    [
        "宁夏回族自治区银川市兴庆区解放东街12号",
        "新疆维吾尔自治区乌鲁木齐市天山区人民路8号",
        "广西壮族自治区南宁市青秀区民族大道100号",
        "吉林省延边朝鲜族自治州延吉市光明街5号",
        "湖北省恩施土家族苗族自治州恩施市航空大道3号",
        "贵州省黔东南苗族侗族自治州凯里市北京东路2号",
        "四川省凉山彝族自治州西昌市胜利路6号",
        "云南省德宏傣族景颇族自治州芒市勇罕街1号",
        "新疆維吾爾自治區烏魯木齊市天山區人民路8號",  # Traditional
        "青海省海西蒙古族藏族自治州德令哈市柴达木路3号",
        "广西壮族自治区南宁市",
    ],
)
def test_autonomous_divisions_are_addresses(address: str) -> None:
    assert _review("王伟", address) is None


@pytest.mark.parametrize(
    "address",
    [
        "57 Christian Oval, West Dominicview, BH25 7NS",
        "918 Gonzalez Square, New Christian, MP 57987",
        "rue de Gay, 30140 Marie",
        "3084 Havali Estates, New Ramadan, IA 08284",
        "59 Rowley Street, Christian Ville",
        "Level 9, 1 Christian Thoroughfare, Robertsstad, SA 2966",
        "12 Jews Row, London SW18 1TB",
        "5 Chapel Street, Gay, GA 30218",
        "1 Cancer Research Way, Cambridge CB2 0AA",  # a street named with the word
        "9 Suicide Hill Road, Ishpeming, MI 49849",
    ],
)
def test_places_named_after_people_are_addresses(address: str) -> None:
    assert _review("Ann Lee", address) is None


@pytest.mark.parametrize(
    ("address", "category"),
    [
        ("宁夏银川市解放东街12号（回族）", None),  # a bracketed remark: extra text at least
        ("银川市解放东街12号 回族客户", None),  # words after the house number
        ("12 High Street (Muslim), Leeds LS1 1AA", None),
        ("Flat 2, Christian Family, Leeds LS1 1AA", None),
        ("12 High Street, Leeds, gay couple", None),
        ("12 High Street, Cancer Patient, Leeds LS1 1AA", None),  # no street type follows
        ("12 High Street, Cancer In Her Road", None),  # a clause word before the street type
        ("12 High Street, Mourning Christian, Leeds", None),  # no place prefix before the name
        ("12 Elm Road, New Muslim", None),  # a prefix and a name, but not where a town stands
        ("12 Elm Road, New Muslim, Leeds LS1 1AA", None),
        ("12 Elm Road, Old Gay, Leeds", None),
    ],
)
def test_the_same_words_as_a_remark_are_still_found(address: str, category: str | None) -> None:
    assert _review("Ann Lee", address) is not None


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("客户住在新疆维吾尔自治区，下周到货", False),  # a place in a note
        ("客户是回族，请勿推荐猪肉制品", True),  # the customer's ethnicity
        ("她是维吾尔族人", True),
        ("回族人住在新疆自治区", True),  # the people, then a place: still the people
    ],
)
def test_notes_naming_an_autonomous_region_speak_of_a_place(text: str, found: bool) -> None:
    labels = SensitiveScreen.shared().analyse(text).labels
    assert ("ethnicity" in labels) is found


def test_the_autonomous_region_exemption_is_linear() -> None:
    """族 repeated once led the exemption's pattern to try every split (48 characters took 21 s)."""
    from core.pii.screen import _STREET_AFTER

    assert _STREET_AFTER.match("族" * 5000 + "x") is None


@pytest.mark.parametrize(
    "address",
    [
        "Flat 93, Christian Stravenue, Brownhaven, DN7V 2NJ",  # USPS street types (core.pii.address_words)
        "Studio 10E, Christian Spur, West Rebecca, TQ3 8GR",
        "Suite 655 66 Church Dip, East Duane, QLD, 2036",  # Australia Post's
        "5 Ryan Part, North Michelle, VIC, 2978",
        "613, More Marg, Jhansi-624441",  # India's Marg, Nagar
        "26/006, More Nagar, Alappuzha 052309",
        "243, chemin Gay, 48654 Sainte Virginie",  # a French word before the street's name
        "Briemerplatz 40, 13534 Mühldorf am Inn",  # German place names
    ],
)
def test_streets_of_many_countries_are_streets(address: str) -> None:
    level, _analysis = CustomerFieldScreen().screen_fields(
        {"full_name": "Ann Lee", "postal_address": address}
    )
    assert level == "personal", address


@pytest.mark.parametrize(
    "address",
    [
        "Flat 2, Cancer Centre, Leeds LS1 1AA",  # a place of care is no street
        "12 Elm Road, Christian Mission, Leeds LS1 1AA",
        "12 Elm Road, Leeds LS1 1AA, wheelchair access",
    ],
)
def test_a_facility_or_a_remark_after_a_term_is_no_street(address: str) -> None:
    level, _analysis = CustomerFieldScreen().screen_fields(
        {"full_name": "Ann Lee", "postal_address": address}
    )
    assert level == "sensitive", address
