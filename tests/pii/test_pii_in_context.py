"""Contact blocks, places, people and numbers recognised by their context (core.pii.recognizers)."""

from __future__ import annotations

import pytest

from core.errors import ConfigError
from core.pii import EXPORT_POLICY, PiiEngine, mask
from core.pii import gazetteer as gaz
from core.pii.recognizers.contact_block import ContactBlockRecognizer
from core.pii.recognizers.in_context import InContextRecognizer, demonym, propagate_people

BLOCK = ContactBlockRecognizer()
CONTEXT = InContextRecognizer()


def _block(text: str) -> list[tuple[str, str]]:
    return [(r.entity_type, text[r.start : r.end]) for r in BLOCK.analyze(text, [])]


def _context(text: str) -> list[tuple[str, str]]:
    return [(r.entity_type, text[r.start : r.end]) for r in CONTEXT.analyze(text, [])]


# -- contact blocks ---------------------------------------------------------------------------------


def test_postal_label_is_masked_line_by_line() -> None:
    text = (
        "> Mirela Kovač\n> Brightwater Tiles\n> 4410 Quayside Row 12\n> Apt. 7\n> Varaždin\n> Croatia 42000"
    )
    found = _block(text)
    assert ("PERSON", "Mirela Kovač") in found
    assert ("ORGANIZATION", "Brightwater Tiles") in found
    assert ("ADDRESS", "4410 Quayside Row 12") in found
    assert ("ADDRESS", "Apt. 7") in found
    assert ("LOCATION", "Varaždin") in found
    assert ("LOCATION", "Croatia 42000") in found


def test_signature_labels_stay_and_values_go() -> None:
    text = "Tomasz Wrona\nSenior Buyer\nPhone:\n+48 22 555 01 99\nAddress:\nPSC 4410, Box 12\nAPO AE 09001"
    found = _block(text)
    assert ("PERSON", "Tomasz Wrona") in found
    assert ("ADDRESS", "PSC 4410, Box 12") in found
    assert ("ADDRESS", "APO AE 09001") in found
    assert all(value not in {"Phone:", "Address:"} for _, value in found)


def test_labelled_phone_line_is_an_anchor() -> None:
    found = _block("Ines Duarte\nMobile: 0912 345 678")
    assert ("PHONE_NUMBER", "0912 345 678") in found
    assert ("PERSON", "Ines Duarte") in found


@pytest.mark.parametrize(
    "text",
    [
        "Called the customer\nWants the winter catalogue\nFollow up next week",  # no anchor
        "Asked about bulk pricing.\nSent the price list.",
        "Order 5 boxes\nsent on Monday",  # lower-case lines are not names
        "One line only: 12 Mill Lane",
    ],
)
def test_harmless_lines_are_not_a_block(text: str) -> None:
    assert [f for f in _block(text) if f[0] in {"PERSON", "ORGANIZATION", "LOCATION"}] == []


def test_prose_around_a_block_survives() -> None:
    text = "Please send the new card to 77 Larch Crescent\nWidnes\nWA8 7QT as soon as you can."
    found = {value for _, value in _block(text)}
    assert "Widnes" in found
    masked = "".join(text[r.start : r.end] for r in BLOCK.analyze(text, []))
    assert "Please send" not in masked
    assert "as soon as you can" not in masked


# -- places -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "place"),
    [
        ("Portugal was lovely in May", "Portugal"),
        ("she moved here from vietnam last year", "vietnam"),  # written without capitals
        ("He flew to Tromsø on Tuesday", "Tromsø"),
        ("Ring her when she is back in Kraków", "Kraków"),
        ("Meeting at the office in GDAŃSK", "GDAŃSK"),
        ("Delivered to Leuven, Belgium", "Leuven"),
    ],
)
def test_places(text: str, place: str) -> None:
    assert ("LOCATION", place) in _context(text)


@pytest.mark.parametrize(
    "text",
    [
        "Reading the contract again tomorrow",  # a town's name without a place word
        "Gave the dog a bath after the walk",
        "Sale ends on Friday",
        "Mobile number changed",
    ],
)
def test_common_words_that_are_towns_are_not_places(text: str) -> None:
    assert [f for f in _context(text) if f[0] == "LOCATION"] == []


def test_demonyms() -> None:
    for word in ("Cambodian", "Norwegians", "Kenyans", "Greenlander", "Chileans"):
        assert demonym(word), word
    for word in ("customer", "catalogue", "manager", "polish", "orchestra"):
        assert not demonym(word), word
    assert ("NRP", "Cambodian") in _context("Her family is Cambodian")


# -- addresses and numbers in sentences ---------------------------------------------------------------


def test_inline_address_takes_the_town() -> None:
    found = _context("She lives at 812 Kettumäentie 14, Jyväskylä now")
    assert ("ADDRESS", "812 Kettumäentie 14, Jyväskylä") in found


def test_numbers_are_not_addresses() -> None:
    assert [
        f for f in _context("ordered 3 boxes of 12 and 5 Musicians Of The 70s") if f[0] == "ADDRESS"
    ] == []


@pytest.mark.parametrize(
    ("text", "entity", "value"),
    [
        ("my zip code is 9021", "ZIP_CODE", "9021"),
        ("Postcode: 44-100", "ZIP_CODE", "44-100"),
        ("block card 4000 1234 5678 9011 please", "CREDIT_CARD", "4000 1234 5678 9011"),  # fails Luhn
        ("they did not answer at 41 227 3090", "PHONE_NUMBER", "41 227 3090"),
    ],
)
def test_numbers_by_their_label(text: str, entity: str, value: str) -> None:
    assert (entity, value) in _context(text)


# -- people -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "person"),
    [
        ("Radomir is always on time with payments", "Radomir"),
        ("Spoke to Ingeborg Aasland about the invoice", "Ingeborg Aasland"),
        ("follow up with henrika lindqvist next month", "henrika lindqvist"),
        ("My name is Oyelaran", "Oyelaran"),
        ("Thanks, Bartholomew", "Bartholomew"),
    ],
)
def test_people(text: str, person: str) -> None:
    assert ("PERSON", person) in _context(text)


@pytest.mark.parametrize(
    "text",
    [
        "Will you send the winter catalogue?",  # "Will" is a given name and an English word
        "May we call next week?",
        "Love the new range",
        "Grace period ends in March",
    ],
)
def test_given_names_that_are_words(text: str) -> None:
    assert [f for f in _context(text) if f[0] == "PERSON"] == []


def test_people_propagate_to_other_mentions_and_lists() -> None:
    text = "Kids: Oskar, Malin and Tove. Oskar starts school soon."
    first = text.index("Oskar")
    extra = {text[s:e] for s, e in propagate_people(text, [(first, first + len("Oskar"))])}
    assert extra == {"Oskar", "Malin", "Tove"}


def test_the_engine_masks_a_label_end_to_end(engine: PiiEngine) -> None:
    text = "Delivery note\n\nHalvard Rønning\nFjordlys AS\n2210 Strandgaten 41\nSuite 3\nLillehammer\nNorway 2609"
    masked = mask(text, engine.analyse(text), policy=EXPORT_POLICY, hash_key=b"k" * 32)
    for value in ("Halvard", "Rønning", "Fjordlys", "Strandgaten", "Lillehammer", "Norway", "2609"):
        assert value not in masked
    assert "Delivery note" in masked


def test_a_missing_gazetteer_fails_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    gaz.gazetteer.cache_clear()
    monkeypatch.setattr(gaz, "DATA_FILE", "no-such-file.txt.gz")
    try:
        with pytest.raises(ConfigError, match="gazetteer"):
            gaz.gazetteer()
    finally:
        monkeypatch.undo()
        gaz.gazetteer.cache_clear()
    assert gaz.gazetteer().kind("Norway") == "country"
