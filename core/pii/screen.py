"""A fast screen for sensitive content: the sensitive-category term lists, no NLP.

Used where the full analyser would be too slow or where only sensitive
content matters: a customer's own text fields at import (a broker list that
carries "Daughter Killed in Car Crash" in the name line is flagged then, not
at mailing time), and the outbound gate over every rendered letter.  The same
term lists and compiled patterns as :class:`~core.pii.recognizers.sensitive.SensitiveRecognizer`
(one alternation per language), matched on the text's skeleton
(:func:`core.pii.normaliser.skeleton`: look-alikes, spacing, leetspeak and
Traditional Chinese folded), with offsets mapped back to the original.

A match is not a finding when it is part of a real name or place:

* followed by a street type (Hospital Road, Hospice Way, Cemetery Road, 康复路)
  or preceded by a foreign street word (Via Roma);
* one capitalised word that is a place of the shipped gazetteer (Roma,
  Gravesend), unless the pattern itself asked for a people context;
* in a name field (``kind="name"``), one capitalised word that is a known given
  name or family name (Sick, Dies, Graves).

Customer fields are also checked for their shape (:mod:`core.pii.field_shape`):
extra text in a name or address puts the customer under review with a
category-level reason (``name_extra_text:bereavement``), never the text.

Customer fields (``kind``) are read further than any text: with the phrases of remarks that
are a remark there but may be innocent in a letter (:data:`core.pii.terms.FIELD_TERMS_EN`:
"passed on", "owes money", "on remand"), and with each word one edit away from a word of the
terms (:func:`typo_correction`: ``Decaesed``, ``Baiiliffs``) read as that word, unless it is a
known name, a place or a word of addresses.  A word of a name field is a name only where a
name's word stands (:func:`_name_word`) and is in the name lists: "Bob Grey Muslim" ends its
name before the remark, "Anna Sick" is a name, "Sue Bankrupt" is a given name and a remark.

Red team round 3 (issue 12): a term that is one part of a hyphenated compound place or street
name (Gay-la-Forêt, Hans-Christian-Kade-Straße: :func:`_compound_place`) or a known name ending a
street's name after given names (boulevard Louis Gay: :func:`_person_in_street`), or in capitals
before a street type (İSLAM ABIŞOV prospekti), is exempted; a term hyphenated to a word in lower
case (Gay-couple) or in brackets after a name (Ann Lee (Muslim)) is no name.  Customer fields are
also read with short leetspeak in lower case folded (g4y, 3x c0n: :func:`fold_short_leet`), with
misspelt short words (wfie, dued: :class:`core.pii.terms.ShortTypoIndex`) where a neighbouring word
confirms them, and with two misspelt long term words side by side as one remark
(Separrated Form Hsuband).
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache
from typing import Final

from core.pii import address_words
from core.pii.analysis import Analysis, Finding, sensitive_type
from core.pii.ascii_twin import ascii_twin
from core.pii.field_shape import (
    ADDRESS_FUNCTION_WORDS,
    HONORIFICS,
    KINSHIP,
    PARTICLES,
    POST_NOMINALS,
    STREET_TYPES,
    UNIT_WORDS,
    check_field,
)
from core.pii.gazetteer import english_stop_words
from core.pii.language import detect_language, has_cjk
from core.pii.normaliser import (
    NormalisedText,
    fold_words,
    register_word_cache,
    skeleton_texts,
    skeletons,
)
from core.pii.recognizers.sensitive_terms_en import TERMS_EN
from core.pii.recognizers.sensitive_terms_zh import TERMS_ZH
from core.pii.terms import (
    FIELD_TERMS_EN,
    MAX_SHORT_TERM,
    MIN_SHORT_TERM,
    MIN_TYPO_TERM,
    SENSITIVE_SCORE,
    ShortTypoIndex,
    TermMatcher,
    TermPrefilter,
    TypoIndex,
    compile_terms,
    term_word_categories,
    term_words,
)

NAME_KIND: Final = "name"
ADDRESS_KIND: Final = "address"
#: Closed-class words after which a line cannot end a phrase (see ``_proper``).
_RUNS_ON: Final = frozenset(
    "a an the in into at on to of from by for with about and or but nor my his her its our your their".split()
)
#: Which kind of customer field each field is (for the name and place exemptions).
FIELD_KINDS: Final[Mapping[str, str]] = {
    "full_name": NAME_KIND,
    "first_name": NAME_KIND,
    "last_name": NAME_KIND,
    "salutation": NAME_KIND,
    "postal_address": ADDRESS_KIND,
    "city": ADDRESS_KIND,
}
REVIEW_REASON_CHARS: Final = 64
SENSITIVE_FIELD: Final = "sensitive_field"

#: Words that name a building or an institution rather than a way: "Cancer Centre", "Rehab Clinic",
#: "Christian Mission" name a place of care or of worship, not a street, so a term before them is
#: never exempted as a street's name (the shape check still counts them as address words).  (Rest is
#: a way's type of English addresses, as Christian Rest; a rest home holds "home".)
_FACILITY_WORDS: Final = frozenset(
    "centre center centres centers centreway clinic unit ward home house hall station mission lodge "
    "retreat camp village villages club union unions reserve manor manors towers tower block mall".split()
)
#: The types of a way, of many countries (core.pii.address_words): in an address, a capitalised term
#: before one, or a street's name running to one in capitalised words, is the street's name.  (Any
#: text's own exemption, :data:`_STREET_AFTER`, keeps its short list: "wheelchair access" in a note is
#: no street.)
_THOROUGHFARES: Final = (STREET_TYPES | address_words.more_street_types()) - _FACILITY_WORDS
_STREET_AFTER: Final = re.compile(
    r" ?(?:road|rd|street|st|lane|ln|way|avenue|ave|close|drive|dr|place|pl|court|ct|crescent|terrace|"
    r"hill|grove|gardens|park|square|sq|row|walk|mews|view|green|rise|parade|boulevard|blvd|highway|"
    r"circle|path|alley|wharf|quay|yard|gate|bridge|cottages|villas|heights|estates?|industrial estate|"
    r"oval|thoroughfare|ville)"
    r"(?![\w'])|[路街巷弄]|大道|胡同|小区"
    # an autonomous region, prefecture, county or banner named after its peoples: 宁夏回族自治区,
    # 恩施土家族苗族自治州 (the place's name, not a person's ethnicity)
    # (族 itself is no character of a people's name here, and the repeat is possessive: linear)
    r"|(?:[\u4e00-\u65ce\u65d0-\u9fff]{1,4}族)*+自治[区州县旗]"
)
_WORDS: Final = re.compile(r"[^\W\d_]+")
_NAME_SKIP: Final = (
    HONORIFICS
    | PARTICLES
    | POST_NOMINALS
    | frozenset(
        "dear hi hello hey to attn attention".split()  # a salutation's greeting: Dear Anna Sick
    )
)
_STREET_BEFORE_WORDS: Final = address_words.street_words_before() | frozenset(
    "via viale piazza piazzale corso largo rue avenue boulevard calle avenida plaza rua strada ulica ul".split()
)
_STREET_BEFORE: Final = re.compile(
    r"(?:^|[^\w'])(?:"
    + "|".join(re.escape(word) for word in sorted(_STREET_BEFORE_WORDS, key=len, reverse=True))
    + r") (?:(?:de|del|della|di|da|do|dos|das|des|du|la|le) )?$"
)
_STREET_PARTICLES: Final = frozenset("de del della di da do dos das des du la le".split())
_BEFORE_CONTEXT: Final = 48
"""Characters before a term read for the words before its street word (bounded: linear)."""
_STREET_NAME_WORDS: Final = 3
"""The most words after a term that a street's name may hold before its street type."""


_ROMAN_NUMERAL: Final = re.compile(r"[IVX]{1,5}")


def _street_named(after: list[str]) -> bool:
    """Whether ``after`` (the words after a capitalised term, in one part of an address) runs on
    in capitalised words to a street type: the term begins the street's name."""
    for word in after:
        low = word.rstrip(".").lower()
        if low in _THOROUGHFARES and word[:1].isupper():
            return True  # a capitalised street type: "Christian Spur", "Church Dip", "Michael Part"
        plain = word[:-2] if word.endswith(("'s", "’s")) else word  # a possessive: Dead Man's Lane
        if _ROMAN_NUMERAL.fullmatch(plain) is not None:
            continue  # a king's numeral: Christian II's Allé
        if not (plain.isalpha() and plain.istitle()) or low in KINSHIP or low in _RUNS_ON:
            return False
    return False


def _street_named_caps(after: list[str]) -> bool:
    """Whether ``after`` (the words after a term in capitals, in one part of an address) runs on in
    capitals to a street type, in any case: a street's name written in capitals (İSLAM ABIŞOV
    prospekti, CHRISTIAN ST)."""
    for word in after:
        low = word.rstrip(".").lower()
        if low in _THOROUGHFARES:
            return True
        if not (word.isalpha() and word.isupper()) or low in KINSHIP or low in _RUNS_ON:
            return False
    return False


_PART_CHARS: Final = 256
"""The most characters of an address read on either side of a term for the part that holds it: a
part longer than that is no place's name, and a field with many terms stays linear to read."""


def _part_end(text: str, start: int) -> int:
    """Where the part of an address that holds ``start`` ends (a comma, a semicolon, a line break;
    at most :data:`_PART_CHARS` further)."""
    limit = min(len(text), start + _PART_CHARS)
    ends = [i for i in (text.find(sep, start, limit) for sep in ",;\n") if i >= 0]
    return min(ends) if ends else limit


def _part_start(text: str, start: int) -> int:
    """Where the part of an address that holds ``start`` begins (at most :data:`_PART_CHARS` back)."""
    floor = max(0, start - _PART_CHARS)
    return max(floor - 1, *(text.rfind(sep, floor, start) for sep in ",;\n")) + 1


_COMPOUND_NAMES: Final = 2
"""The fewest known names beside a term that make a compound with no particle nor street type a
person's name in a place's (Hans-Christian-Kade)."""
_COMPOUND_PARTICLE_CHARS: Final = 4
"""The longest lower-case particle inside a place's compound name (la, sur, en, lès, sous)."""


def _compound_place(text: str, start: int, end: int, seg_start: int, seg_end: int) -> bool:
    """Whether the capitalised word ``text[start:end]`` is one part of a compound place or street
    name joined by hyphens (Gay-la-Forêt, Lopes-sur-Gay, Hans-Christian-Kade-Straße): its first and
    last parts capitalised, each part a capitalised word or a short lower-case particle of places,
    and one other part showing a place's name (a particle, a street type, a known name), none of
    them a clause's or a family's word or a term (Gay-couple, Gay-Couple, Black-Gay are remarks).
    Bounded by the part of the address (:data:`_PART_CHARS`)."""
    if not (text[start - 1 : start] in _HYPHEN_CHARS or text[end : end + 1] in _HYPHEN_CHARS):
        return False
    left = start
    while left > seg_start and (text[left - 1].isalpha() or text[left - 1] in _HYPHEN_CHARS):
        left -= 1
    right = end
    while right < seg_end and (text[right].isalpha() or text[right] in _HYPHEN_CHARS):
        right += 1
    parts = re.split(r"[\-\u2010\u2011]", text[left:right])
    if len(parts) < 2 or not all(parts) or not (parts[0][:1].isupper() and parts[-1][:1].isupper()):
        return False
    from core.pii.gazetteer import is_known_name

    term = text[start:end]
    others = [p for p in parts if p != term]
    if len(others) != len(parts) - 1:
        return False  # the term twice, or the word is no whole part
    shown = False
    names = 0
    screen = SensitiveScreen.shared()
    for part in others:
        low = unicodedata.normalize("NFKC", part).lower()
        if part.islower():
            if len(part) > _COMPOUND_PARTICLE_CHARS or low not in ADDRESS_FUNCTION_WORDS:
                return False
            shown = True  # a particle of places: Gay-la-Forêt, Lopes-sur-Gay
            continue
        if not (part[:1].isupper() and part[1:].islower()):
            return False
        if low in KINSHIP or low in _RUNS_ON or low in english_stop_words() or low.endswith(_VERB_ENDINGS):
            return False
        if not screen.surely_clean([part], fields=True):
            return False  # two terms in one compound: a remark
        if low in STREET_TYPES or low in _THOROUGHFARES:
            shown = True  # a street type: Christian-Straße
        elif is_known_name(low):
            names += 1
    # a person's full name in a street's or a place's (Hans-Christian-Kade-Straße); one name word
    # beside the term is no place (Black-Gay)
    return shown or names >= _COMPOUND_NAMES


_PERSON_IN_STREET: Final = 2
"""The most given names before a family name in a street named after a person (boulevard Louis Gay)."""


def _person_in_street(before: str, after: str) -> bool:
    """Whether a known name ends a street's name after a street word that begins one and a
    person's given names (``boulevard Louis Gay``, ``rue Jean-Paul Christian``), with nothing but a
    number or nothing after it in its part of the address."""
    if after.strip(" .") and not after.strip(" .").isdigit():
        return False
    words = before.split()
    from core.pii.gazetteer import first_names

    given = first_names()
    names = 0
    while words and names < _PERSON_IN_STREET and words[-1][:1].isupper():
        parts = re.split(r"[\-\u2010\u2011]", words[-1])
        if not all(p.istitle() and _low_word(p) in given for p in parts):
            return False
        words.pop()
        names += 1
    while words and words[-1] in _STREET_PARTICLES:
        words.pop()
    return names > 0 and bool(words) and words[-1].lower() in _STREET_BEFORE_WORDS


def _low_word(word: str) -> str:
    return unicodedata.normalize("NFKC", word).lower()


#: A state or region code and/or a postcode, nothing else: what follows a town in an address.
_REGION_OR_POSTCODE: Final = re.compile(
    r"(?:[A-Z]{2,3}\s{1,3})?[A-Z0-9]{1,6}(?:[\s\-][A-Z0-9]{1,4})?|[A-Z]{2,3}"  # (a Canadian postcode unspaced: G5L7P2)
)
#: Words that begin a place's name before a person's name (New Christian, Port Elizabeth).
_PLACE_PREFIXES: Final = address_words.town_prefixes() | frozenset(
    "new north south east west port fort mount mt lake saint st upper lower great little old".split()
)


# A short word in lower case of letters and leetspeak digits (g4y, c0n, 3x): in a customer field,
# where it stands alone, read as letters too (see fold_short_leet).  Each look-ahead reads one word
# from its start: linear.
_SHORT_LEET_FIELD: Final = re.compile(
    r"(?<![\w'@$!|])(?=[0-9]*+[a-z])(?=[a-z]*+[013457])[a-z013457]{2,5}+(?![\w'@$!|])"
)
_LEET_DIGITS: Final = str.maketrans("013457", "oieast")


def _short_leet_word(match: re.Match[str]) -> str:
    word = match.group(0)
    if word.rstrip("0123456789").isalpha():
        return word  # letters and then a number (debt4, flat2): a code, as written
    return word.translate(_LEET_DIGITS)


def fold_short_leet(text: str) -> str | None:
    """``text`` (a customer field) with each short word written in lower case of letters and the
    leetspeak digits ``0 1 3 4 5 7`` (``g4y``, ``3x c0n``) read as letters, one character for one
    (offsets kept); None when there is none.  Capitals with digits are codes (a postcode G4Y, a
    unit 4B) and stay as written; so does a word of letters then a number (debt4).  The skeleton
    reads such words only beside a longer leetspeak word; a field's words stand alone."""
    if _SHORT_LEET_FIELD.search(text) is None:  # one pass, in C: most fields stop here
        return None
    out = _SHORT_LEET_FIELD.sub(_short_leet_word, text)
    return None if out == text else out


_TYPO_WORD: Final = re.compile(r"[a-z]{4,}+")
TYPO_CACHE_SIZE: Final = 4096
"""Written words whose reading as a misspelling is memoised (:func:`typo_correction`); the words of
names and addresses recur from customer to customer.  Dropped by :func:`core.pii.normaliser.forget_words`."""


#: Categories whose words are also people's names and the words of many languages (Christian,
#: Kristian, Ramdan, Jewel): a word one letter away from theirs is read as written.
_NO_TYPO_CATEGORIES: Final = frozenset({"religion", "political", "sexual_orientation", "ethnicity"})


def _typo_lists() -> tuple[dict[str, tuple[str, ...]], dict[str, tuple[str, ...]]]:
    return (
        {cat: f for cat, f in TERMS_EN.items() if cat not in _NO_TYPO_CATEGORIES},
        {cat: f for cat, f in FIELD_TERMS_EN.items() if cat not in _NO_TYPO_CATEGORIES},
    )


@lru_cache(maxsize=1)
def _typo_index() -> TypoIndex:
    return TypoIndex(term_words(*_typo_lists()))


@lru_cache(maxsize=1)
def _term_categories() -> dict[str, str]:
    return term_word_categories(*_typo_lists())


_PAIR_GAP_WORDS: Final = 2
"""The most words between two misspelt words of the terms read as one remark (Separrated Form Hsuband)."""


@lru_cache(maxsize=1)
def _short_typo_index() -> ShortTypoIndex:
    return ShortTypoIndex(term_words(*_typo_lists(), shortest=MIN_SHORT_TERM, longest=MAX_SHORT_TERM))


def _glued(text: str, start: int, end: int) -> bool:
    """Whether ``text[start:end]`` is glued to a letter, a digit or an underscore (IsGay,
    Stage_4_Cancer): part of a longer token, no name of its own."""
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    return before.isalnum() or before == "_" or after.isalnum() or after == "_"


_VERB_ENDINGS: Final = ("ed", "ing")
_NAME_CHARS: Final = 128
"""The most characters of a name field read before a word (a longer name is extra text anyway)."""


def _name_word(text: str, start: int, end: int, key: str) -> bool:
    """Whether the capitalised word ``text[start:end]`` (skeleton ``key``) of a name field is a
    name there, not a remark after the name.

    A known given or family name is one unless two name words or more stand before it, one of
    them a family name that is no given name (Bob Grey Muslim: the name ended with Grey; Mary Ann
    Christian, Anna Sick, Mercy Priest are names).  A word in no name list is never a name here
    (Sue Bankrupt, Liz Widow: a given name and a remark).  A word glued to another (IsGay) is never a name.
    """
    from core.pii.gazetteer import faker_given_names, first_names, fold, is_known_name, surnames

    if _glued(text, start, end) or _hyphened_to_word(text, start, end):
        return False
    written = _WORDS.findall(text[max(0, start - _NAME_CHARS) : start])
    if _bracketed(text, start) and not (written and written[-1].lower() in _MAIDEN_WORDS):
        return False  # a term in brackets after a name is a remark (Ann Lee (Muslim)); (née Graves) a name
    before = [w.lower() for w in written if len(w) > 1 and w.lower() not in _NAME_SKIP]
    if is_known_name(key):
        given, family = first_names(), surnames()
        if before and not (is_known_name(before[-1]) or fold(before[-1]) in faker_given_names()):
            return False  # after a word no list holds: a phrase (Breast Cancer, Brain Tumour), no name
        return len(before) <= 1 or not any(w in family and w not in given for w in before)
    # A term in no name list is no name, wherever it stands: "Sue Bankrupt", "Ann Pregnant" and
    # "Liz Widow" are a given name and a remark.  A real family name that no list holds (Death)
    # goes to review with the others; the rule is the maintained lists, not a position.
    return False


_MAIDEN_WORDS: Final = frozenset("nee née geb formerly born".split())


def _bracketed(text: str, start: int) -> bool:
    """Whether ``start`` lies inside brackets opened before it (read back :data:`_NAME_CHARS` at most)."""
    floor = max(0, start - _NAME_CHARS)
    opened = max(text.rfind(ch, floor, start) for ch in "([{（")
    closed = max(text.rfind(ch, floor, start) for ch in ")]}）")
    return opened > closed


_HYPHEN_CHARS: Final = "-\u2010\u2011"
_HYPHENED_CHARS: Final = 32
"""The most characters of the word read beside a hyphen (:func:`_hyphened_to_word`)."""


def _hyphened_to_word(text: str, start: int, end: int) -> bool:
    """Whether the word ``text[start:end]`` is joined by a hyphen to a word in lower case that is
    no particle (``Gay-couple``, ``is-Gay``): one compound word of prose, no name (al-Sayed,
    Mil-van are names)."""
    words: list[str] = []
    if end < len(text) and text[end] in _HYPHEN_CHARS:
        found = _WORDS.match(text, end + 1, min(len(text), end + 1 + _HYPHENED_CHARS))
        if found is not None:
            words.append(found.group(0))
    if start > 0 and text[start - 1] in _HYPHEN_CHARS:
        before = _WORDS.findall(text[max(0, start - 1 - _HYPHENED_CHARS) : start - 1])
        if before and text[start - 1 - len(before[-1]) : start - 1] == before[-1]:
            words.append(before[-1])
    return any(w.islower() and w not in PARTICLES for w in words)


@lru_cache(maxsize=TYPO_CACHE_SIZE)
def typo_correction(word: str) -> str | None:
    """The word of the terms that ``word`` (lower-case letters, a skeleton's word) misspells
    (``decased``, ``depresssion``, ``baiiliffs``), or None: also for a known given or family name
    (Christina is no misspelt christian), a place, a stop word or a word of addresses."""
    term = _typo_index().correction(word)
    if term is None:
        term = _short_typo_index().correction(word)
        if term is None:
            return None
        from core.pii.latin_words import english_word

        if english_word(word):
            return None  # a short word of its own (deed, tied): no misspelling
    from core.pii.gazetteer import gazetteer, is_known_name

    if (
        is_known_name(word)
        or gazetteer().kind(word) is not None
        or word in english_stop_words()
        or word in STREET_TYPES
        or word in UNIT_WORDS
    ):
        return None
    return term


def typo_view(view: str) -> tuple[str, list[int]] | None:
    """``view`` (a skeleton) with each misspelt word (:func:`typo_correction`) written right, and for
    each character of the result the offset in ``view`` it stands for; None when no word is misspelt.
    Linear: each word of four letters or more is looked up once."""
    pieces: list[str] = []
    positions: list[int] = []
    pos = 0
    for found in _TYPO_WORD.finditer(view):
        term = typo_correction(found.group(0))
        if term is None:
            continue
        a, b = found.span()
        if (a > 0 and view[a - 1].isalnum()) or (b < len(view) and view[b].isalnum()):
            continue  # part of a longer word with digits: no word of its own
        pieces.append(view[pos:a])
        positions.extend(range(pos, a))
        pieces.append(term)
        positions.extend(min(a + i, b - 1) if i < len(term) - 1 else b - 1 for i in range(len(term)))
        pos = b
    if not pieces:
        return None
    pieces.append(view[pos:])
    positions.extend(range(pos, len(view)))
    return "".join(pieces), positions


_NEIGHBOUR_CHARS: Final = 32
"""The most characters read on either side of a misspelt short word for the word beside it."""


def _confirmed(view: str, start: int, end: int, changed: list[int]) -> bool:
    """Whether the word ``view[start:end]`` of a corrected view (:func:`typo_view`; ``changed`` its
    prefix count of corrected characters) stands beside a word of a family (baby, wife) or another
    misspelt word: a phrase that confirms a short word's misspelling (bbay dued, wfie died).  The
    same word twice confirms nothing (Rapu-Rapu, a town's reduplicated name)."""
    floor = max(0, start - _NEIGHBOUR_CHARS)
    ceiling = min(len(view), end + _NEIGHBOUR_CHARS)
    # up to two words on either side of it, in the same part (no comma, no line break between)
    before = list(_NEIGHBOUR_WORD.finditer(view, floor, start))[-_NEIGHBOURS:]
    after = list(_NEIGHBOUR_WORD.finditer(view, end, ceiling))[:_NEIGHBOURS]
    for found in (*before, *after):
        a, b = found.span()
        if any(sep in view[min(b, start) : max(a, end)] for sep in ",;\n()"):
            continue
        if found.group(0) == view[start:end] or (a == floor > 0) or (b == ceiling < len(view)):
            continue  # the same word twice (Rapu-Rapu), or a word cut at the window's edge
        if found.group(0) in KINSHIP or changed[b] != changed[a]:
            return True
    return False


_NEIGHBOUR_WORD: Final = re.compile(r"[a-z]+")
_NEIGHBOURS: Final = 2


def has_typo(texts: Iterable[str]) -> bool:
    """Whether a word of the texts (read in lower case) may be a misspelt word of the terms: the
    cheap question :meth:`CustomerFieldScreen.screen_fields` asks before it looks closer."""
    for text in texts:
        for chunk in text.split():
            if len(chunk) >= _MIN_TYPO_CHUNK and not chunk.isdigit() and _chunk_typo(chunk):
                return True
    return False


_MIN_TYPO_CHUNK: Final = 4


@lru_cache(maxsize=TYPO_CACHE_SIZE)
def _chunk_typo(chunk: str) -> bool:
    """Whether a space-separated word of a field holds a misspelt word of the terms (memoised: the
    words of names and addresses recur from customer to customer)."""
    return any(map(typo_correction, _TYPO_WORD.findall(chunk.lower())))


register_word_cache(typo_correction.cache_clear)
register_word_cache(_chunk_typo.cache_clear)


@dataclass(frozen=True, slots=True)
class Match:
    """One term match: its category, original offsets and the skeleton text it matched."""

    category: str
    start: int
    end: int
    key: str = field(repr=False)  # matched text: never in a repr


class SensitiveScreen:
    """Finds sensitive-category spans with two compiled regular expressions."""

    _shared: SensitiveScreen | None = None
    _lock = threading.Lock()

    # Each compiled table is built on its first use (about 0.45 s for all six): a bulk import of
    # names and addresses without Chinese and without any term literal needs only _en_filter.

    @cached_property
    def _en(self) -> re.Pattern[str]:
        return compile_terms(TERMS_EN, word_bounded=True)

    @cached_property
    def _zh(self) -> re.Pattern[str]:
        return compile_terms(TERMS_ZH, word_bounded=False)

    @cached_property
    def _en_filter(self) -> TermPrefilter:
        return TermPrefilter(TERMS_EN, word_bounded=True)

    @cached_property
    def _zh_filter(self) -> TermPrefilter:
        return TermPrefilter(TERMS_ZH)

    # the patterns tried only around their literals: every match finditer finds, at a fraction
    # of the cost when a common literal ("this", "her") occurs (core.pii.terms.TermMatcher)

    @cached_property
    def _en_matcher(self) -> TermMatcher:
        return TermMatcher(TERMS_EN, word_bounded=True)

    @cached_property
    def _zh_matcher(self) -> TermMatcher:
        return TermMatcher(TERMS_ZH, word_bounded=False)

    # the phrases read in customer fields only (core.pii.terms.FIELD_TERMS_EN), and the prefilter
    # of a customer's fields: the shared English lists and those phrases in one automaton

    @cached_property
    def _field_matcher(self) -> TermMatcher:
        return TermMatcher(FIELD_TERMS_EN, word_bounded=True)

    @cached_property
    def _en_field_filter(self) -> TermPrefilter:
        merged = {
            cat: TERMS_EN.get(cat, ()) + FIELD_TERMS_EN.get(cat, ()) for cat in {*TERMS_EN, *FIELD_TERMS_EN}
        }
        return TermPrefilter(merged, word_bounded=True)

    @classmethod
    def shared(cls) -> SensitiveScreen:
        with cls._lock:
            if cls._shared is None:
                cls._shared = cls()
            return cls._shared

    def matches(
        self, text: str, *, kind: str | None = None, norms: tuple[NormalisedText, ...] | None = None
    ) -> tuple[list[Match], set[str]]:
        """Term matches in ``text`` and the skeleton keys exempted as names or places.

        ``kind`` is the kind of customer field (:data:`FIELD_KINDS`) or None for any text;
        ``norms`` is ``skeletons(text)`` when the caller has it already.
        """
        out: list[Match] = []
        exempt: set[str] = set()
        seen: set[tuple[int, int, str]] = set()
        self._matches_into(text, kind, norms if norms is not None else skeletons(text), out, exempt, seen)
        if kind is not None and (folded := fold_short_leet(text)) is not None:
            # short leetspeak in lower case (g4y, 3x c0n): read one for one, offsets kept
            self._matches_into(folded, kind, skeletons(folded), out, exempt, seen)
        return out, exempt

    def _matches_into(
        self,
        text: str,
        kind: str | None,
        norms: tuple[NormalisedText, ...],
        out: list[Match],
        exempt: set[str],
        seen: set[tuple[int, int, str]],
    ) -> None:
        """:meth:`matches` of ``text`` read as ``norms``, added to ``out``, ``exempt``, ``seen``."""
        for norm in norms:
            matchers = [self._en_matcher] if kind is None else [self._en_matcher, self._field_matcher]
            if has_cjk(norm.text):
                matchers.append(self._zh_matcher)
            for view in (norm.text, *norm.variants):
                for matcher in matchers:
                    for match in matcher.matches(view):
                        category = match.lastgroup
                        if category is None:
                            continue
                        key = match.group(0)
                        start, end = norm.to_original(match.start(), match.end())
                        if (start, end, category) in seen:
                            continue
                        seen.add((start, end, category))
                        if self._street(view, match.start(), match.end()) or self._proper(
                            norm, text, key, start, end, kind
                        ):
                            exempt.add(key)
                            continue
                        out.append(Match(category, start, end, key))
            if kind is not None:
                self._typo_matches(norm, matchers, out, seen)

    def _typo_matches(
        self,
        norm: NormalisedText,
        matchers: list[TermMatcher],
        out: list[Match],
        seen: set[tuple[int, int, str]],
    ) -> None:
        """Term matches that hold a misspelt word of a customer field (``Son Decased``, ``Sreving
        Sntence``), read with the word written right (:func:`typo_view`); offsets of the original."""
        if not has_typo((norm.text,)):  # its words' answers are memoised: most fields stop here
            return
        corrected = typo_view(norm.text)
        if corrected is None:
            return
        view, positions = corrected
        self._misspelt_pairs(norm, out, seen)
        # changed[i]: how many characters before i were written right (a prefix count: linear)
        changed = [0]
        for i, p in enumerate(positions):
            changed.append(changed[-1] + (view[i] != norm.text[p : p + 1]))
        for matcher in matchers:
            for match in matcher.matches(view):
                category = match.lastgroup
                if category is None or self._street(view, match.start(), match.end()):
                    continue
                if changed[match.end()] == changed[match.start()]:
                    continue  # no misspelt word in it: read as written already
                key = match.group(0)
                if " " not in key:
                    written = norm.text[positions[match.start()] : positions[match.end() - 1] + 1]
                    if _typo_index().correction(written) is None and not _confirmed(
                        view, match.start(), match.end(), changed
                    ):
                        # a short word misspelt (chemo for Chema, skint for Sint) counts only in a
                        # phrase, whose other words confirm it (wfie died, bbay dued)
                        continue
                start, end = norm.to_original(positions[match.start()], positions[match.end() - 1] + 1)
                if (start, end, category) not in seen:
                    seen.add((start, end, category))
                    out.append(Match(category, start, end, match.group(0)))

    @staticmethod
    def _misspelt_pairs(norm: NormalisedText, out: list[Match], seen: set[tuple[int, int, str]]) -> None:
        """Two long words of the terms misspelt near each other in one part of a customer field
        (``Separrated Form Hsuband``, ``Recoevring Fom Storke``): a remark whose every word may be
        misspelt, its small words too (form, fom), so that no phrase of the terms matches.  Each
        pair is read once: linear."""
        found: list[tuple[int, int, str]] = []
        for word in _TYPO_WORD.finditer(norm.text):
            a, b = word.span()
            if (a > 0 and norm.text[a - 1].isalnum()) or (b < len(norm.text) and norm.text[b].isalnum()):
                continue
            term = typo_correction(word.group(0))
            if term is not None and len(term) >= MIN_TYPO_TERM:
                found.append((a, b, term))
        for (a, _b, first), (_a, b, second) in itertools.pairwise(found):
            between = norm.text[_b:_a]
            if len(between.split()) > _PAIR_GAP_WORDS or any(sep in between for sep in ",;\n()"):
                continue
            category = _term_categories().get(first) or _term_categories().get(second)
            if category is None:
                continue
            start, end = norm.to_original(a, b)
            if (start, end, category) not in seen:
                seen.add((start, end, category))
                out.append(Match(category, start, end, f"{first} {second}"))

    def view_matches(self, view: str) -> list[tuple[str, str]]:
        """(category, key) of the term matches in ``view``, text that is already a skeleton.

        For the outbound gate's line joints, built from the skeletons of two lines; the street
        exemption applies, offsets are not kept.
        """
        out: list[tuple[str, str]] = []
        candidates = [(self._en, self._en_filter)]
        if has_cjk(view):
            candidates.append((self._zh, self._zh_filter))
        for pattern, prefilter in candidates:
            if not prefilter.may_match(view):
                continue
            for match in pattern.finditer(view):
                if match.lastgroup is not None and not self._street(view, match.start(), match.end()):
                    out.append((match.lastgroup, match.group(0)))
        return out

    def findings(self, text: str, *, kind: str | None = None) -> tuple[Finding, ...]:
        found, _exempt = self.matches(text, kind=kind)
        return tuple(
            Finding(sensitive_type(m.category), m.category, m.start, m.end, SENSITIVE_SCORE) for m in found
        )

    @classmethod
    def exempted(cls, norm: NormalisedText, text: str, view: str, start: int, end: int) -> bool:
        """Whether the match ``view[start:end]`` is part of a street name or is a place (any text)."""
        if cls._street(view, start, end):
            return True
        o_start, o_end = norm.to_original(start, end)
        return cls._proper(norm, text, view[start:end], o_start, o_end, None)

    @staticmethod
    def _street(view: str, start: int, end: int) -> bool:
        last = view[max(start, view.rfind(" ", start, end) + 1) : end]
        if last in _RUNS_ON:  # a match that ends in "of", "in", "the" runs on: "exor of Estate"
            return False
        if _STREET_AFTER.match(view, end) is not None:
            return True
        if _STREET_BEFORE.search(view, max(0, start - 16), start) is None:
            return False
        # "Avenue", "Boulevard", "Terrace" end a street's name as often as they begin one: after a
        # word (22 Birch Avenue Widowed) the street's name has ended; after a number, a comma or
        # at the start (12 Avenue Foch, Via Roma) it begins
        words = view[max(0, start - _BEFORE_CONTEXT) : start].split()
        while words and words[-1] in _STREET_PARTICLES:
            words.pop()
        return not (
            len(words) >= 2
            and words[-1] in STREET_TYPES
            and words[-2].isalpha()
            and words[-2] not in _RUNS_ON
        )

    @staticmethod
    def _proper(norm: NormalisedText, text: str, key: str, start: int, end: int, kind: str | None) -> bool:
        """In a name field, one capitalised word that is a known name; in an address, a place.

        Only in customer fields (``kind``), and only where the field holds more than the word:
        a name field reading just "Rip" is not a name.  A place counts when it is a whole part
        of the address (between commas or lines, postcode letters aside): "Via Roma 9, Roma",
        "Main Street, Accident, MD", but not "Back in Rehab"; when it begins a street's name
        ("Cancer Research Way": capitalised words up to a street type); or when it is a known
        personal name after a place prefix ("New Christian", as "Port Elizabeth").
        """
        if kind is None or " " in key or not key.isalpha() or not key.isascii():
            return False
        word = text[start:end]
        # (the dotted capital İ of Turkish and Azerbaijani lowers to i and a combining dot: İmam)
        written = unicodedata.normalize("NFKC", word).lower().replace("\u0307", "")
        if len(norm.text.split(None, 1)) < 2 or written != key:
            return False  # a word in disguise (look-alikes, invisible characters) is no name
        if kind == ADDRESS_KIND and word.isupper() and len(word) > 1:
            # a street's name in capitals before its type: İSLAM ABIŞOV prospekti, GAY ST
            return _street_named_caps(text[end : _part_end(text, end)].split()[:_STREET_NAME_WORDS])
        if not (word[:1].isupper() and (word[1:].islower() or text.isupper())):
            return False  # "Ann Lee RIP": an abbreviation, not a name
        from core.pii.gazetteer import gazetteer, is_known_name

        if kind == NAME_KIND:
            return _name_word(text, start, end, key)
        if kind != ADDRESS_KIND:
            return False
        seg_start = _part_start(text, start)
        seg_end = _part_end(text, end)
        segment = text[seg_start:seg_end]
        if _street_named(text[end:seg_end].split()[:_STREET_NAME_WORDS]):
            return True  # a street named with it: "1 Cancer Research Way"
        if _compound_place(text, start, end, seg_start, seg_end):
            return True  # one part of a place's compound name: Gay-la-Forêt, Hans-Christian-Kade-Straße
        if is_known_name(key) and _person_in_street(text[seg_start:start], text[end:seg_end]):
            return True  # a person's name in a street's: boulevard Louis Gay
        before_word = text[seg_start:start].split()
        if (
            len(before_word) == 1
            and before_word[0].istitle()
            and before_word[0].lower() in _PLACE_PREFIXES
            and not text[end:seg_end].strip()
            and _REGION_OR_POSTCODE.fullmatch(text[seg_end + 1 : _part_end(text, seg_end + 1)].strip())
            is not None
        ):
            # a town named after a person (New Christian, Port Elizabeth): a known name after a
            # capitalised place prefix, the two a part of the address of their own, where the town
            # stands, before its state or postcode ("…, New Christian, MP 57987"); "…, New Muslim"
            # at the end, or before a town, is no place
            return is_known_name(key)
        others = [w for w in _WORDS.findall(segment) if not (w.isupper() and len(w) <= 3)]
        if len(others) > 1 and word in others and gazetteer().kind(" ".join(others)) is not None:
            return True  # the whole part names a place: Oliveira do Hospital, Lower Slaughter
        if others != [word] or gazetteer().kind(key) is None:
            return False
        # A line that ends on a word which needs a continuation (a preposition, an article, a
        # conjunction, a possessive) runs on into this one: "back in⏎Rehab" is one phrase, not a
        # town on its own line.
        before = fold_words(
            text[max(0, seg_start - _PART_CHARS) : seg_start]
        ).split()  # the skeleton: "i\u200bn" reads "in"
        return not (text[seg_start - 1 : seg_start] == "\n" and before and before[-1] in _RUNS_ON)

    def surely_clean(self, texts: Iterable[str], *, fields: bool = False) -> bool:
        """True only when no text holds a finding: one cheap pass over all of them.

        Exact for texts without Chinese (a customer's name and address, nearly
        always): no Chinese pattern can match them, and if no required literal
        of an English term occurs in a text's skeleton, no term matches it.
        A text is read as its ASCII twin when it has one (:func:`core.pii.ascii_twin.ascii_twin`:
        accented Latin letters folded one for one; the same skeleton, found on the ASCII path);
        the twins are read in one pass, joined by " ; " (which ends a spelled-out run, so no
        text's match is hidden); other texts one by one.  With ``fields`` (a customer's fields),
        the phrases read in fields only (:data:`core.pii.terms.FIELD_TERMS_EN`) count too.
        False means "look with :meth:`findings`", not "found".
        """
        may_match = (self._en_field_filter if fields else self._en_filter).may_match
        twins: list[str] = []
        others: list[str] = []
        for text in texts:
            twin = ascii_twin(text)
            if twin is None:
                others.append(text)
            else:
                twins.append(twin)
        if twins:  # ASCII: its skeletons are ASCII too, where no Chinese pattern can match
            for view in skeleton_texts(twins[0] if len(twins) == 1 else " ; ".join(twins)):
                if may_match(view):
                    return False
        for text in others:
            for norm in skeletons(text):
                if has_cjk(norm.text):
                    return False
                if may_match(norm.text) or any(may_match(view) for view in norm.variants):
                    return False
        return True

    def analyse(self, text: str) -> Analysis:
        """An :class:`Analysis` holding only sensitive findings (identifiers are not looked for)."""
        return Analysis.build(language=detect_language(text), findings=self.findings(text))


class CustomerFieldScreen:
    """Implements :class:`core.store.FieldScreen` for a customer's name and address.

    The fields are personal by definition; the screen asks whether they also
    carry sensitive content (the term lists, with the name and place
    exemptions) or more than a name or an address (:mod:`core.pii.field_shape`).
    Either makes the level ``sensitive``.  The stored analysis is JSON keyed by
    field (offsets and labels, never text), plus the category-level review
    reason under :data:`REVIEW_KEY` (read back with :func:`review_reason_of`).
    """

    def __init__(self, screen: SensitiveScreen | None = None) -> None:
        self._screen = screen or SensitiveScreen.shared()

    def screen_fields(self, values: Mapping[str, str]) -> tuple[str, bytes | None]:
        shape = {name: problem for name, value in values.items() if (problem := check_field(name, value))}
        rejoined = {name: pair for name, value in values.items() if (pair := rejoin_lines(value))}
        folded = [f for value in values.values() if (f := fold_short_leet(value)) is not None]
        if (
            not shape
            and self._screen.surely_clean(
                [*values.values(), *(j for j, _ in rejoined.values()), *folded], fields=True
            )
            and not has_typo(values.values())
        ):
            return "personal", None
        found = {
            name: self._screen.findings(value, kind=FIELD_KINDS.get(name)) for name, value in values.items()
        }
        for name, (joined, positions) in rejoined.items():
            # a word broken over two lines of the field ("alzhe⏎imers"): read as one, offsets
            # mapped back to the original characters
            extra = [
                replace(f, start=positions[f.start], end=positions[f.end - 1] + 1)
                for f in self._screen.findings(joined, kind=FIELD_KINDS.get(name))
            ]
            spans = {(f.start, f.end) for f in found[name]}
            found[name] += tuple(f for f in extra if (f.start, f.end) not in spans)
        if not shape and not any(found.values()):
            return "personal", None  # the common case: nothing to store beyond the level
        doc: dict[str, object] = {
            name: Analysis.build(language=detect_language(values[name]), findings=findings).to_dict()
            for name, findings in found.items()
            if findings
        }
        categories = {f.category for findings in found.values() for f in findings}
        doc[REVIEW_KEY] = review_reason(shape.values(), categories)
        return "sensitive", json.dumps(doc, ensure_ascii=False).encode()


REVIEW_KEY: Final = "_review"


def _same_case_letters(before: str, after: str) -> bool:
    return (before.islower() and after.islower()) or (before.isupper() and after.isupper())


def rejoin_lines(text: str) -> tuple[str, list[int]] | None:
    """``text`` with each line break inside a word removed, and each of its characters' offsets
    in ``text``; None when no line break falls between two letters of the same case.

    A customer field broken inside a word (``alzhe⏎imers``, ``bank⏎rupt``, ``R⏎IP``) hides the
    word from the term lists; a line break of a real address mostly stands before a capital after
    a small letter, or before a digit (``Oak Road⏎Bristol``), and where it does not (``OAK
    ROAD⏎BRISTOL``) the joined word is only a second reading, matched as a whole word.  Spaces
    and tabs around the break go with it.  Linear: each line break looks at the spaces beside it
    once.
    """
    if "\n" not in text:
        return None
    keep = [True] * len(text)
    found = False
    size = len(text)
    for brk in (i for i, ch in enumerate(text) if ch == "\n"):
        left = brk
        while left > 0 and text[left - 1] in " \t\r":
            left -= 1
        right = brk + 1
        while right < size and text[right] in " \t":
            right += 1
        if (
            left > 0
            and right < size
            and (
                _same_case_letters(text[left - 1], text[right])
                # a contraction's end on the next line: OD⏎'d, dec⏎'d
                or (
                    text[right] in "'’"
                    and right + 1 < size
                    and text[right + 1].isalpha()
                    and text[left - 1].isalpha()
                    and (right + 2 >= size or not text[right + 2].isalpha())
                )
            )
        ):
            for i in range(left, right):
                keep[i] = False
            found = True
    if not found:
        return None
    positions = [i for i in range(size) if keep[i]]
    return "".join(text[i] for i in positions), positions


def review_reason(problems: Iterable[str], categories: Iterable[str]) -> str:
    """A category-level review reason: ``name_extra_text:bereavement,accident`` (at most 64 characters).

    Shape problems first (``name_extra_text``, ``address_extra_text``; ``sensitive_field`` when only
    terms were found), then the sensitive categories; never any matched text.
    """
    head = "+".join(sorted(set(problems))) or SENSITIVE_FIELD
    reason = head
    for i, category in enumerate(sorted(set(categories))):
        candidate = f"{reason}{':' if i == 0 else ','}{category}"
        if len(candidate) > REVIEW_REASON_CHARS:
            break
        reason = candidate
    return reason


def review_reason_of(analysis: bytes | None) -> str:
    """The review reason stored by :meth:`CustomerFieldScreen.screen_fields` (a generic one if absent)."""
    fallback = "sensitive content in a customer field"
    if not analysis:
        return fallback
    try:
        doc = json.loads(analysis)
    except ValueError:
        return fallback
    reason = doc.get(REVIEW_KEY) if isinstance(doc, dict) else None
    return reason if isinstance(reason, str) and reason else fallback
