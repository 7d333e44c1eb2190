"""Street types, unit words and town prefixes from Faker's address data (core.pii.address_words)."""

from __future__ import annotations

import pytest

from core.pii import address_words
from core.pii.screen import SensitiveScreen

KINDS = {
    "street_types": address_words.street_types,
    "street_words_before": address_words.street_words_before,
    "unit_words": address_words.unit_words,
    "town_prefixes": address_words.town_prefixes,
}


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        (
            "street_types",
            {
                "road",
                "spur",
                "dip",
                "part",
                "subway",
                "stravenue",
                "run",
                "straße",
                "weg",
                "straat",
                "vej",
                "nagar",
                "marg",
            },
        ),
        ("street_words_before", {"rue", "chemin", "via", "calle", "glorieta", "travessa", "rua", "strada"}),
        ("unit_words", {"apt", "suite", "flat", "studio", "unit", "appartamento", "piano", "piso", "puerta"}),
        ("town_prefixes", {"north", "south", "east", "west", "new", "port", "saint", "san"}),
    ],
)
def test_each_kind_holds_the_postal_words_of_several_countries(kind: str, words: set[str]) -> None:
    assert words <= KINDS[kind]()


def test_no_list_holds_a_name_an_institution_or_a_format_word() -> None:
    """Other locales list streets, people or institutions among their suffixes: they are not read."""
    everything = set().union(*(get() for get in KINDS.values()))
    assert (
        not {"hospital", "masjid", "gereja", "abdul", "ismail", "letter", "random", "uppercase"} & everything
    )


def test_every_word_is_lower_case_latin_and_no_sensitive_term() -> None:
    screen = SensitiveScreen.shared()
    for kind, get in KINDS.items():
        for word in get():
            assert word == word.lower() and len(word) >= 2 and " " not in word, (kind, word)
            found, _exempt = screen.matches(word)
            assert not found, (kind, word)
