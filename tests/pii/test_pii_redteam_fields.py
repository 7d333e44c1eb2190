"""Red-team classes of issue 12 in customer fields: a remark word broken over two lines, and one
lower-case word (often misspelt, so no term list knows it) typed into a capitalised address."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.pii.field_shape import check_address, check_name
from core.pii.screen import CustomerFieldScreen, rejoin_lines

SCREEN = CustomerFieldScreen()


def _level(name: str, address: str) -> str:
    return SCREEN.screen_fields({"full_name": name, "postal_address": address})[0]


# -- a word broken over two lines -----------------------------------------------------------

BROKEN = [
    "deceased",
    "widower",
    "bankrupt",
    "miscarriage",
    "alcoholic",
    "schizophrenic",
    "divorced",
    "hospice",
]


@pytest.mark.parametrize("word", BROKEN)
@pytest.mark.parametrize("cut", [2, 3, 4])
@pytest.mark.parametrize("brk", ["\n", " \n", "\r\n", "\n  "])
def test_word_broken_over_two_lines_is_stopped(word: str, cut: int, brk: str) -> None:
    split = word[:cut] + brk + word[cut:]
    assert _level("Mr Tom Hale", f"22 Oak Road\nBristol BS3 1QT {split}") == "sensitive"
    assert _level("Mr Tom Hale", f"7 Mill Lane {split}, Cork") == "sensitive"


def test_rejoin_maps_back_to_the_original() -> None:
    text = "7 Mill Lane dece \nased, Cork"
    joined = rejoin_lines(text)
    assert joined is not None
    out, positions = joined
    assert out == "7 Mill Lane deceased, Cork"
    assert all(text[p] == c for p, c in zip(positions, out, strict=True))
    level, doc = SCREEN.screen_fields({"full_name": "Ann Lee", "postal_address": text})
    assert level == "sensitive" and doc is not None
    assert b"dece" not in doc  # offsets and categories only


@pytest.mark.parametrize(
    "text",
    ["22 Oak Road\nBristol BS3 1QT", "Flat 2\n14 High Street", "12 rue de la paix\n75002 Paris", "no break"],
)
def test_real_line_breaks_are_not_rejoined(text: str) -> None:
    assert rejoin_lines(text) is None
    assert _level("Ann Lee", text) == "personal"


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from("ab \n\t\rA1"), max_size=60))
def test_rejoin_keeps_every_other_character(text: str) -> None:
    joined = rejoin_lines(text)
    if joined is None:
        return
    out, positions = joined
    assert len(out) == len(positions) and positions == sorted(positions)
    assert all(text[p] == c for p, c in zip(positions, out, strict=True))
    kept = set(positions)
    removed = "".join(text[p] for p in range(len(text)) if p not in kept)
    assert "\n" in removed and not removed.strip(" \t\r\n")  # only line breaks and the spaces beside them


# -- one long lower-case word in a capitalised address ------------------------------------------

REMARK_WORDS = ["bankurpt", "alzhemiers", "widwoer", "insovlent", "parkisnons", "proabte", "stillibrth"]


@pytest.mark.parametrize("word", REMARK_WORDS)
def test_lower_case_word_in_a_capitalised_address_is_extra_text(word: str) -> None:
    assert check_address(f"Flat 2 {word}, 14 High Street, Leeds LS1 4AB") == "address_extra_text"
    assert check_address(f"7 Mill Lane {word}, Cork") == "address_extra_text"
    assert check_address(f"22 Oak Road\nBristol BS3 1QT {word}") == "address_extra_text"
    assert _level("Ann Lee", f"7 Mill Lane {word}, Cork") == "sensitive"


@pytest.mark.parametrize(
    "address",
    [
        "2, chemin Gomez\n03131 Sainte Madeleine",
        "46, chemin de Blanchet\n41937 Pauldan",
        "ulica Kasprowicza 259\n53-543 Wołomin",
        "aleja Maja 941\n70-615 Katowice",
        "Via della Spiga 12, 20121 Milano",
        "12 Rue de la Paix, 75002 Paris",
        "Calle de los Reyes 4, Madrid",
        "5 Church Lane, Weston-super-Mare BS23 1AA",
        "3 Mill Road, Newcastle upon Tyne NE1 1AA",
        "7 mill lane, cork",  # lower case throughout: its case says nothing
        "Flat 4 rear, 9 King St, York",
        "Rua das Flores 10, Porto",
    ],
)
def test_real_addresses_with_lower_case_words_pass(address: str) -> None:
    assert check_address(address) is None


# -- leetspeak too short for the glued-digit rule, and small letters standing alone, in a name ---


@pytest.mark.parametrize(
    "name",
    [
        "Mr John Smith 1s g4y",
        "Bob Grey 3x-c0n",
        "Bob Grey 3nd 0f l1f3",
        "Ann Lee 0d",
        "Mr John Smith c a d x",
        "Mrs Ann Lee d e c ' d",
        "Tom Hale r i p",
    ],
)
def test_short_leetspeak_and_small_letters_in_a_name_are_extra_text(name: str) -> None:
    assert check_name(name) == "name_extra_text"
    assert _level(name, "9 Kings Road, Reading RG1 3AA") == "sensitive"


@pytest.mark.parametrize(
    "name",
    [
        "John Smith 3rd",
        "Henry Ford 2nd",
        "J. R. R. Tolkien",
        "José y Ortega",
        "Maria da Silva e Costa",
        "d'Arcy Thompson",
        "Ann Lee",
        "JOHN SMITH",
        "john smith",
    ],
)
def test_real_names_with_ordinals_initials_particles_pass(name: str) -> None:
    assert check_name(name) is None


@pytest.mark.parametrize("remark", ["R\nIP", "I\nVA", "C\nCJ", "DECE\nASED", "D \nMP"])
def test_capitals_broken_over_two_lines_are_stopped(remark: str) -> None:
    assert _level("Mr Tom Hale", f"9 Kings Road {remark}, Reading RG1 3AA") == "sensitive"
    assert _level(f"Mr Tom Hale {remark}", "9 Kings Road, Reading RG1 3AA") == "sensitive"


@pytest.mark.parametrize(
    "address",
    ["12 HIGH STREET\nRIPON HG4 1AA", "3 OAK ROAD\nBRISTOL BS3 1QT", "FLAT A\nIVANHOE HOUSE\nLEEDS"],
)
def test_addresses_in_capitals_over_lines_pass(address: str) -> None:
    assert _level("JOHN SMITH", address) == "personal"


@pytest.mark.parametrize("name", ["Kim Number12 Example", "Ann C0", "User1 Test", "Flat4B Smith"])
def test_codes_and_numbered_pseudonyms_in_a_name_pass_the_digit_rule(name: str) -> None:
    assert check_name(name) is None
