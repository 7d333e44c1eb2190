"""Red team of issue 12 on remarks and customers nobody tuned the screen on (held-out classes).

Each table is written here, case by case: remarks written as staff and brokers write them
(misspelt, glued to a number, in long or short leetspeak, camelCase, phrases the shared lists
lack, a remark word after a complete name) must put the customer under review at import, and
innocent customers (rare family names that are words, places named with a function word or a
term, street and division words of Vietnamese, Hungarian, Finnish, Slovene, Spanish and
Japanese addresses, titles of many countries) must get their letter.
"""

from __future__ import annotations

import time

import pytest

from core.export.gate import Letter, OutboundGate, StaticOwners
from core.pii.field_shape import check_address, check_name
from core.pii.normaliser import skeleton_views, skeletons
from core.pii.screen import CustomerFieldScreen, SensitiveScreen, typo_correction, typo_view
from core.pii.terms import TypoIndex

SCREEN = CustomerFieldScreen()
TERMS = SensitiveScreen.shared()
NAME = "Mr Tom Hale"
ADDRESS = "22 Birch Avenue, Bristol BS8 2QT"


def _level(name: str, address: str) -> str:
    return SCREEN.screen_fields({"full_name": name, "postal_address": address})[0]


def _gate_reasons(name: str, address: str) -> tuple[object, ...]:
    gate = OutboundGate(owners=StaticOwners({}), phone_region="GB")
    text = f"{name}\n{address}\n\nDear {name},\nOur spring catalogue is out.\n"
    values = {"full_name": name, "postal_address": address, "salutation": f"Dear {name}"}
    return gate.check(Letter(pseudonym="p", text=text, values=values))


def _caught(name: str, address: str) -> None:
    assert _level(name, address) == "sensitive", (name, address)


def _clean(name: str, address: str) -> None:
    assert _level(name, address) == "personal", (name, address)
    assert _gate_reasons(name, address) == (), (name, address)


# -- a remark word misspelt: one letter left out, doubled, changed or two swapped ---------------

MISSPELT = [
    "Husband Decaesed",
    "wife deceasd",
    "Mother Passed Awya",
    "Bankrutpcy",
    "Chemothreapy",
    "Schizoprenic",
    "Alcohlic",
    "Miscarraige",
    "Funneral Friday",
    "Dementai",
    "Hospise",
    "Palliatve Care",
    "Seving Sentence",
]


@pytest.mark.parametrize("remark", MISSPELT)
def test_a_misspelt_remark_after_a_name_is_caught(remark: str) -> None:
    _caught(f"{NAME} {remark}", ADDRESS)


@pytest.mark.parametrize("remark", MISSPELT)
def test_a_misspelt_remark_in_an_address_is_caught(remark: str) -> None:
    _caught(NAME, f"22 Birch Avenue ({remark}), Bristol BS8 2QT")
    _caught(NAME, f"22 Birch Avenue, {remark}, Bristol BS8 2QT")


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("decaesed", "deceased"),
        ("hospise", "hospice"),
        ("alcohlic", "alcoholic"),
        ("christina", None),  # a given name one letter from a term word is a name
        ("dancer", None),  # a six-letter word with one letter changed: no misspelling
        ("deceased", None),  # the word itself
        ("road", None),  # too short to be read as a misspelling
    ],
)
def test_typo_correction_table(word: str, expected: str | None) -> None:
    assert typo_correction(word) == expected


def test_typo_view_maps_back_to_the_written_word() -> None:
    view = "22 birch avenue (son decaesed)"
    read = typo_view(view)
    assert read is not None
    text, positions = read
    assert text == "22 birch avenue (son deceased)"
    assert len(positions) == len(text)
    assert view[positions[text.index("deceased")]] == "d"
    assert (
        positions[text.index("deceased") + len("deceased") - 1]
        == view.index("decaesed") + len("decaesed") - 1
    )


def test_typo_index_edits() -> None:
    index = TypoIndex(frozenset({"bailiffs", "cancer"}))
    assert index.correction("baliffs") == "bailiffs"  # one left out
    assert index.correction("bailifffs") == "bailiffs"  # one added
    assert index.correction("bialiffs") == "bailiffs"  # two swapped
    assert index.correction("bailiefs") == "bailiffs"  # one changed (a long word)
    assert index.correction("canker") is None  # one changed in a six-letter word
    assert index.correction("cacner") == "cancer"  # two swapped


@pytest.mark.parametrize(
    "unit",
    [
        "Abcdefghij ",  # long unknown words
        "Decaesed ",  # a misspelt term, over and over
        "Widowed, ",  # a term in every part of the address (each part read near the term only)
        "h3r hu5b4nd d13d ",  # short leetspeak beside long
    ],
)
def test_a_20_kb_field_is_read_in_linear_time(unit: str) -> None:
    """Ten times the text costs about ten times the work, not a hundred (a relative measure: a busy
    machine slows both sizes alike; the absolute figures are the benchmarks' business)."""
    _level(f"{NAME} Decaesed", "1 Oak Road (h3r hu5b4nd d13d), Leeds")  # lists loaded once

    def cost(size: int) -> float:
        value = unit * (size // len(unit))
        best = float("inf")
        for _ in range(3):
            start = time.process_time()
            SCREEN.screen_fields({"full_name": value, "postal_address": value})
            best = min(best, time.process_time() - start)
        return best

    small, large = cost(2_000), cost(20_000)
    assert large < 30 * max(small, 0.002), (small, large)


# -- numbers glued to a remark, long and short leetspeak, camelCase after a number ---------------


@pytest.mark.parametrize(
    "remark",
    [
        "Widowed3",
        "Bankrupt07",
        "Hospice4",
        "InRehab2",
        "Miscarriage5",
        "d3pr3553d",  # more digits than letters
        "4lc0h0l1c",
        "h3r hu5b4nd d13d",  # short words beside a long one
        "w1f3 1n h05p1c3",
        "Stage3Cancer",  # a capitalised word glued after a number
        "Since2019Widowed",
    ],
)
def test_leetspeak_and_glued_numbers_are_caught(remark: str) -> None:
    _caught(f"{NAME} {remark}", ADDRESS)
    _caught(NAME, f"22 Birch Avenue {remark}, Bristol BS8 2QT")


@pytest.mark.parametrize(
    ("text", "view"),
    [
        ("Widowed3", "widowed3"),  # the second reading keeps the number
        ("h3r hu5b4nd d13d", "her husband died"),
        ("Stage3Cancer", "stage3 cancer"),
        ("Flat 4B, 1st floor", "flat 4b, 1st floor"),  # short codes alone stay as written
        ("BS8 2QT", "bs8 2qt"),  # a postcode in capitals is no leetspeak
    ],
)
def test_skeleton_readings(text: str, view: str) -> None:
    views = {v for norm in skeletons(text) for v in (norm.text, *norm.variants)}
    assert view in views
    assert set(skeleton_views(text)) == views  # the gate's word-by-word views agree


def test_a_mixed_case_postcode_shaped_word_is_leetspeak() -> None:
    assert "rest in peace" in skeleton_views("Re5t In Peace")
    assert "ja1l" not in skeleton_views("in Ja1l")
    assert skeleton_views("SW1A 1AA") == ("sw1a 1aa",)


# -- phrases of remarks that only customer fields read ----------------------------------------

FIELD_PHRASES = [
    "drinks too much",
    "owes the bank money",
    "serving a prison sentence",
    "took her own life",
    "psychiatric ward",
    "on remand",
    "two CCJs",
    "gone to heaven",
    "husband left her",
    "expecting twins",
    "recovering from surgery",
    "COPD sufferer",
]


@pytest.mark.parametrize("phrase", FIELD_PHRASES)
def test_remark_phrases_in_fields_are_caught(phrase: str) -> None:
    _caught(NAME, f"22 Birch Avenue ({phrase}), Bristol BS8 2QT")
    _caught(f"{NAME} - {phrase.title()}", ADDRESS)


def test_field_phrases_are_not_read_in_a_letter() -> None:
    assert TERMS.findings("Your parcel has been passed on to our courier.") == ()
    assert [m.category for m in TERMS.matches("Passed on", kind="address")[0]] == ["bereavement"]


# -- a remark word after a complete name, and real names that are words -------------------------


@pytest.mark.parametrize(
    "name",
    [
        "Ruth Barker Muslim",  # a family name, then a word that is also a name: the name had ended
        "Mr K. Patel Bankrupt",  # an initial and a family name, then a word in no name list
        "Joan Price BornCatholic",  # glued to another word: no name of its own
        "Dan Ward Stage_2_Cancer",
    ],
)
def test_a_term_after_a_complete_name_is_caught(name: str) -> None:
    _caught(name, ADDRESS)


@pytest.mark.parametrize(
    "name",
    [
        "Faith Graves",  # a family name of the lists that is a word
        "Mrs Coffin",
        "Dr J. Payne",
        "Mary Jane Christian",
        "Hope Sick",
        "Grace Priest",
        "Rev Hj. Siti Aminah",  # titles of many countries (Faker's person providers)
        "Sra(a). Lucia Gomez",
        "Jan van het Veld",
        "Anna von und zu Lichtenstein",
    ],
)
def test_real_names_pass(name: str) -> None:
    _clean(name, ADDRESS)


# -- addresses of many countries and places named with a word -----------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "Số 12 đường Lê Lợi, phường Bến Nghé, thành phố Hồ Chí Minh",
        "Kossuth lajos utca 12.\nH-1053 Budapest",
        "Koivukujan puistotie 4\n00100 Helsinki",
        "Trg svobode 3\n2000 Maribor",
        "Calle Florida N° 350 Oficina 4\nBuenos Aires 1005",
        "東京都港区芝公園4丁目2番8号 メゾン芝101",
        "人民路8号, 杭州市",
        "Oliveira do Hospital, 3400-060",
        "Pity Me, Durham DH1 5AA",
        "More, Pune 411001",
        "7 Dead Man's Lane, Kent",
    ],
)
def test_real_addresses_pass(address: str) -> None:
    assert check_address(address) is None, address
    _clean("Ann Cole", address)


def test_a_place_named_with_a_function_word_is_no_clause_but_a_remark_is() -> None:
    assert check_address("Come To Good, Truro TR3 6QS") is None
    assert check_address("14 Birch Avenue, Is Poorly, Bristol") is not None  # begins with it
    assert check_address("14 Birch Avenue, Son Is Ill, Bristol") is not None  # a kinship word


def test_a_chinese_word_with_a_dot_between_each_character_is_no_name() -> None:
    assert check_name("约翰·史密斯") is None
    assert check_name("张伟离·婚·了") is not None
    _caught("王芳病·重·住·院", "上海市静安区南京西路1号")


def test_reasons_hold_no_text() -> None:
    level, doc = SCREEN.screen_fields({"full_name": f"{NAME} Funneral Friday", "postal_address": ADDRESS})
    assert level == "sensitive" and doc is not None
    assert b"Funneral" not in doc and b"funeral" not in doc
