"""Street types, unit words and place-name prefixes of many countries, from Faker's address data.

The shape check (:mod:`core.pii.field_shape`) and the street exemptions of the screen
(:mod:`core.pii.screen`) must know the words that make a street, a unit or a town's
name, or they read a street named after a person ("Christian Spur", "Church Dip",
"Michael Part" in Australia) or a town ("South Christian") as a remark.  A list typed
here is never complete; Faker's address providers (a maintained package this project
already depends on for its family-name lists, read only, never used to generate) carry
the postal authorities' street types per locale: the USPS suffixes (Publication 28),
Australia Post's (Spur, Dip, Part, Subway ...), the French, Italian, Spanish and
Portuguese words before a street's name (chemin, contrada, glorieta, travessa ...),
the German and Dutch ones at the end of a compound (-straße, -weg, -straat), unit words
(Appartamento, Piso, Puerta) and the prefixes of town names (North, Saint, San ...).

The locales are chosen (:data:`LOCALES`): some of Faker's other locales list whole street
names, people's names or institutions among their "suffixes" (Malaysia's ``Hospital``,
``Masjid``; Finland's street names), which would make a remark before them look like a
street.  Only words of a Latin script and of at least two letters are taken, lower-cased,
with a trailing dot removed (``str.`` becomes ``str``); each list is read once per process.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Final

#: Locales whose address lists hold street types and prefixes only (postal authorities' words).
LOCALES: Final = (
    "en_US", "en_GB", "en_CA", "en_AU", "en_NZ", "en_IE", "en_IN",
    "de_DE", "de_AT", "de_CH", "nl_NL", "nl_BE", "da_DK", "sv_SE", "no_NO",
    "fr_FR", "fr_CA", "fr_CH", "it_IT", "es_ES", "es_MX", "es_AR", "es_CO", "es_CL",
    "pt_BR", "pt_PT", "pl_PL", "cs_CZ", "sk_SK", "ro_RO",
)  # fmt: skip
#: Locales whose street "prefixes" are glued to the street type (Kyrk + ogatan): no words before a name.
_GLUED_PREFIXES: Final = frozenset({"sv_SE"})
#: Faker's attributes per kind of word.
_STREET_ATTRS: Final = ("street_suffixes", "street_suffixes_long", "street_suffixes_short")
_BEFORE_ATTRS: Final = ("street_prefixes", "street_prefixes_long", "street_prefixes_short")
_UNIT_ATTRS: Final = ("secondary_address_formats",)
_TOWN_PREFIX_ATTRS: Final = ("city_prefixes",)
#: A word of a Latin script: letters (accents included), apostrophes and inner hyphens.
_LATIN_WORD: Final = re.compile(r"[A-Za-zÀ-ÖØ-öø-ɏ][A-Za-zÀ-ÖØ-öø-ɏ'\-]*[A-Za-zÀ-ÖØ-öø-ɏ]\.?")
#: Placeholders in Faker's formats: ``Apt. ###``, ``Flat ##?``, ``Appartamento @#``.
_PLACEHOLDER: Final = re.compile(r"[#%@?{}]")


@cache
def _providers_of(locales: tuple[str, ...]) -> tuple[tuple[str, object], ...]:
    """(locale, address provider class) of ``locales`` (a locale Faker lacks is skipped)."""
    import faker.providers.address as address

    have = {module.name for module in pkgutil.iter_modules(address.__path__)}
    found: list[tuple[str, object]] = []
    for locale in locales:
        if locale not in have:
            continue
        provider = getattr(importlib.import_module(f"{address.__name__}.{locale}"), "Provider", None)
        if provider is not None:
            found.append((locale, provider))
    return tuple(found)


def _providers() -> tuple[tuple[str, object], ...]:
    """(locale, address provider class) of :data:`LOCALES`."""
    return _providers_of(tuple(LOCALES))


def _words(values: Iterable[object], *, first_only: bool) -> set[str]:
    """One word per entry: the entry itself when it is one word, or (``first_only``, for unit
    formats such as ``Apt. ###``) its first word; formats that call other providers are skipped."""
    out: set[str] = set()
    for value in values:
        if not isinstance(value, str) or "{" in value:
            continue
        words = _LATIN_WORD.findall(_PLACEHOLDER.sub(" ", value))
        if not words or (len(words) > 1 and not first_only):
            continue  # "Right Of Way", "Beach Road": their words are listed on their own
        word = words[0].rstrip(".").lower()
        if len(word) >= 2:
            out.add(word)
    return out


def _collect(
    attrs: tuple[str, ...], *, first_only: bool = False, skip: frozenset[str] = frozenset()
) -> frozenset[str]:
    out: set[str] = set()
    for locale, provider in _providers():
        if locale in skip:
            continue
        for attr in attrs:
            values = getattr(provider, attr, None)
            if isinstance(values, list | tuple):
                out |= _words(values, first_only=first_only)
    return frozenset(out)


#: One literal word after (or before) one placeholder in a street name's format: "{{last_name}} Nagar".
_AFTER_PLACEHOLDER: Final = re.compile(r"\A\{\{\w+\}\} ([^\s{}]+)\Z")
_BEFORE_PLACEHOLDER: Final = re.compile(r"\A([^\s{}]+) \{\{\w+\}\}\Z")


def _format_words(pattern: re.Pattern[str], *, skip: frozenset[str] = frozenset()) -> set[str]:
    """The literal words that street names' formats put after (or before) a name (India's Nagar, Marg)."""
    literals: list[str] = []
    for locale, provider in _providers():
        formats = getattr(provider, "street_name_formats", None)
        if locale in skip or not isinstance(formats, list | tuple):
            continue
        literals += [m.group(1) for f in formats if isinstance(f, str) and (m := pattern.match(f))]
    return _words(literals, first_only=False)


@cache
def street_types() -> frozenset[str]:
    """Words that end a street's name or stand as its type (road, spur, dip, straße, weg, nagar)."""
    return _collect(_STREET_ATTRS) | _format_words(_AFTER_PLACEHOLDER)


@cache
def street_words_before() -> frozenset[str]:
    """Words that begin a street's name, before the name itself (rue, chemin, via, calle, travessa)."""
    return _collect(_BEFORE_ATTRS, skip=_GLUED_PREFIXES) | _format_words(
        _BEFORE_PLACEHOLDER, skip=_GLUED_PREFIXES
    )


@cache
def unit_words() -> frozenset[str]:
    """Words of the unit or floor part of an address (apt, suite, flat, studio, piano, piso, puerta)."""
    return _collect(_UNIT_ATTRS, first_only=True)


@cache
def town_prefixes() -> frozenset[str]:
    """Words that begin a town's name before another name (north, new, port, saint, san, borgo)."""
    return _collect(_TOWN_PREFIX_ATTRS)


#: Locales whose street types, words before a street's name (not Finland's: those are street names),
#: unit words and divisions are read besides :data:`LOCALES`, every word of each entry: Vietnamese,
#: Hungarian, Finnish, Croatian, Slovak, Ukrainian, Russian and Azerbaijani addresses write them in
#: lower case (đường, phường, thành phố; utca, tér; katu, polku; ulica, cesta; вулиця, площа; küçəsi).
_MORE_LOCALES: Final = (
    "vi_VN", "hu_HU", "fi_FI", "hr_HR", "sk_SK", "zu_ZA", "es_AR", "es_CO", "uk_UA", "ru_RU", "az_AZ", "el_GR",
)  # fmt: skip
#: Of those, the locales whose words before a street's name are street names themselves (Finland's).
_NAMES_BEFORE: Final = frozenset({"fi_FI"})
#: Attributes that name the divisions of a country, or the words that end a town's name (Phường,
#: Quận, Thị xã; Faker's town suffixes: -ville, los altos): address words, read word by word.
_DIVISION_ATTRS: Final = (
    "city_suffixes",
    "city_prefixes",
    # the words after a district's, a settlement's or a village's name (Azerbaijani rayonu,
    # qəsəbəsi, kəndi), written in lower case as the street types after a street's name
    "district_suffixes",
    "settlement_suffixes",
    "village_suffixes",
)


#: A word of letters of any Latin range (Vietnamese đường, phường), apostrophes and inner hyphens.
_ANY_WORD: Final = re.compile(r"[^\W\d_]+(?:['\-][^\W\d_]+)*")


def _more_providers() -> tuple[tuple[str, object], ...]:
    return _providers_of(tuple(_MORE_LOCALES))


def _entries(values: object) -> tuple[object, ...]:
    """A Faker attribute's entries: a list or a tuple, or the keys of a weighted mapping (hu_HU)."""
    if isinstance(values, list | tuple | Mapping):
        return tuple(values)
    return ()


def _all_words(values: Iterable[object]) -> set[str]:
    """Every word of every literal entry (``Thành phố`` gives thành and phố; ``los bajos`` los, bajos)."""
    out: set[str] = set()
    for value in values:
        if isinstance(value, str) and "{" not in value:
            for word in _ANY_WORD.findall(_PLACEHOLDER.sub(" ", value)):
                word = word.lower()
                if len(word) >= 2:
                    out.add(word)
    return out


@cache
def more_street_types() -> frozenset[str]:
    """The street types (suffixes) and words before a street's name of :data:`_MORE_LOCALES`,
    lower case (đường, phố, hẻm; utca, tér, körút; katu, tie, polku)."""
    out: set[str] = set()
    for locale, provider in _more_providers():
        attrs = _STREET_ATTRS if locale in _NAMES_BEFORE else _STREET_ATTRS + _BEFORE_ATTRS
        for attr in attrs:
            out |= _all_words(_entries(getattr(provider, attr, None)))
    return frozenset(out)


@cache
def more_unit_words() -> frozenset[str]:
    """The words of the unit formats of :data:`_MORE_LOCALES` (local, oficina, dto, piso, torre)."""
    out: set[str] = set()
    for _locale, provider in _more_providers():
        for attr in _UNIT_ATTRS:
            out |= _all_words(_entries(getattr(provider, attr, None)))
    return frozenset(out)


@cache
def division_words() -> frozenset[str]:
    """Words of the divisions of a country and of the words that end or begin a town's name, of
    every locale read here (phường, quận, xã, thành, phố; ville, borough, los, altos, bajos)."""
    out: set[str] = set()
    for _locale, provider in (*_providers(), *_more_providers()):
        for attr in _DIVISION_ATTRS:
            out |= _all_words(_entries(getattr(provider, attr, None)))
    return frozenset(out)


__all__ = [
    "division_words",
    "more_street_types",
    "more_unit_words",
    "street_types",
    "street_words_before",
    "town_prefixes",
    "unit_words",
]
