"""A positive check of what a name or an address field holds.

Lists of bad words are never complete: a broker list can always write a remark
in words the vocabulary lacks.  So, besides the sensitive-term screen, a name
field must LOOK like a personal name and an address like an address; anything
else in them is extra text that makes the customer go under review
(``name_extra_text``, ``address_extra_text``) and keeps the field out of every
letter.

A **name** is a few name words: given and family names (capitalised words,
known or not: most surnames are in no list), initials, particles (van, de, al,
bin ...), honorifics and post-nominals, separated by spaces, commas, ``&`` or
``and``; a nickname or maiden name in brackets.  Extra text is what names are
not made of: a bracketed or starred remark, digits, sentence punctuation, a
lower-case word in a capitalised name, a function word (in, has, her ...) that
is not a given name of a short name, a verb form (``-ed``/``-ing``) or a
kinship word in the middle of the name that is no known name, mixed scripts
inside one word (``Кilled``), or more name words than any name has.  A Chinese
name is a surname (one or two characters) and a one- or two-character given
name, optionally with a title (先生, 女士 ...) or a foreign name with ``·``.

An **address** holds numbers, unit words, street types, places (the shipped
gazetteer), postcodes and capitalised proper names; a bracketed remark, a clause
(pronouns, auxiliaries, a verb form that is no place) or sentence punctuation
is extra text.

Addresses of many countries write some of their words in lower case: the street types,
unit words and division words of more of Faker's locales (Vietnamese đường, phường; Hungarian
utca; Finnish katu; Slovak, Croatian, Ukrainian, Russian; Spanish oficina) are address words,
a lower-case street name stands before its street type or house number (Petőfi sándor utca,
Na delih 549), and a part of the address that is a place's own name written with a function
word (Pity Me) is a place.  Titles and post-nominals of every locale of Faker's person
provider (drg., Hj., г-н) are no name words; a name of ideographs may be written family name,
space, given name (山本 京助).

A particle in lower case hyphenated to a capitalised name (al-Sayed, ben-David) and an Irish name
after a mutation's letters (Mac an tSaoir, Ó hAodha) are capitalised name words; a name's first
word shaped as a verb form whose stem is no English word is a given name (Svenning), as is a
capitalised -ing/-ed family name after a particle (den Teuling).  Hebrew abbreviations (הל"ה) are
one word, brackets mirrored in right-to-left text are brackets, and an apostrophe that touches no
letter (O.D.'.D) is a contraction spelled out: extra text.

Known names come from the given-name dictionary (gender-guesser) and the
surname lists (census, faker) in :mod:`core.pii.gazetteer`, loaded only when a
word needs them.  Every check is linear in the field's length and fields longer
than :data:`MAX_CHECKED_CHARS` are extra text without further analysis.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from core.pii import address_words
from core.pii.ascii_twin import ascii_twin
from core.pii.gazetteer import english_stop_words, given_names_raw, is_known_name
from core.pii.normaliser import ZERO_WIDTH, fold_words, register_word_cache
from core.pii.zh_convert import to_simplified

NAME_EXTRA_TEXT: Final = "name_extra_text"
ADDRESS_EXTRA_TEXT: Final = "address_extra_text"
MAX_CHECKED_CHARS: Final = 400
MAX_NAME_WORDS: Final = 6
MAX_INITIALS: Final = 4
"""The most single letters in a row that a name or an address holds (J. R. R. Tolkien has three;
more is a word spelled out letter by letter, D.a.u.g.h.t.e.r)."""

HONORIFICS: Final = frozenset(
    "mr mrs ms miss mx master dr doctor prof professor sir dame lord lady rev revd reverend hon "
    "capt captain col maj lt sgt cllr judge madam mme mlle m herr frau sr sra srta dott ing "
    # other languages' forms of address and academic titles: Polish pan/pani/panna, Italian
    # signor(a) and sig.ra/dott.ssa (read as sig + ra), Spanish/Portuguese don/doña/dom/dona,
    # Dutch dhr/mevr, Nordic hr/fru, Czech and Slovak degrees, Vietnamese quý ông/bà/cô/anh/chị
    "pan pani panna signor signora signorina sig avv don dona dom dhr mevr mevrouw hr fru "
    "arch mgr bc judr mudr rndr phdr doc dipl mag quy ong co anh chi".split()
)
_TITLE_SUFFIXES: Final = frozenset(("ra", "na", "ssa"))  # Sig.ra, Sig.na, Dott.ssa
POST_NOMINALS: Final = frozenset(
    "jr jnr sr snr ii iii iv v vi phd dphil md dds mba ma ba bsc msc llb llm obe mbe cbe kbe dbe kc qc mp "
    "esq frcs frcp rn cpa beng meng fca aca ceng mbbs".split()
)
PARTICLES: Final = frozenset(
    "van von der den de del della dei degli di da du des la le lo los las al el bin binti bint ibn ben bat "
    "ap mac st ste dos das do y e zu ter ten af av abu umm nee née geb and & of "
    "het en und".split()  # Dutch van het, Dutch and German double names: van X en van Y, von und zu
)
KINSHIP: Final = frozenset(
    "son sons daughter daughters wife husband mother father mum mom dad child children kid kids baby "
    "brother sister parents widow widower spouse partner family grandson granddaughter".split()
)
#: Street types: the words below, and those of 30 countries' postal data (core.pii.address_words).
STREET_TYPES: Final = (
    address_words.street_types()
    | address_words.street_words_before()
    | frozenset(
        "road rd street st lane ln way avenue ave close cl drive dr place pl court ct crescent cres terrace tce "
        "hill grove gardens gdns park square sq row walk mews view green rise parade boulevard blvd highway hwy "
        "circle cir path alley wharf quay yard gate bridge end side field fields cottages villas heights "
        "via viale piazza rue calle avenida strasse straße weg platz laan straat vej gatan".split()
    )
)
#: Unit words: the words below and the unit formats of 30 countries (core.pii.address_words).
UNIT_WORDS: Final = address_words.unit_words() | frozenset(
    "flat apt apartment unit suite floor fl room rm block building bldg house no number po box basement "
    "ground first second third fourth top rear front upper lower c/o co care estate tower court lodge "
    "farm cottage manor hall mill barn studio entrance door back annex annexe".split()
)
ADDRESS_FUNCTION_WORDS: Final = frozenset(
    "of the and on upon in at by under over next to off near opposite behind above below via "
    "am an im auf bei ob zum zur dem sur sous lès les aux "  # German and French place names: Mühldorf am Inn
    "de la le les du des del della di da do dos das van von der den el al los las y e "
    "one two three four five six seven eight nine ten eleven twelve".split()
)
ZH_TITLES: Final = (
    "先生",
    "女士",
    "小姐",
    "太太",
    "夫人",
    "博士",
    "教授",
    "老师",
    "医生",
    "律师",
    "经理",
    "董事长",
    "总经理",
    "同学",
    "阿姨",
    "叔叔",
    "老板",
)
_NAME_SKIP: Final = HONORIFICS | POST_NOMINALS | PARTICLES  # not counted as name words
_ADDRESS_PLAIN: Final = STREET_TYPES | UNIT_WORDS | ADDRESS_FUNCTION_WORDS
_VERB_ENDS: Final = ("ed", "ing")
_MAX_SMALL_LETTERS: Final = 2
"""The fewest small letters standing alone that make a capitalised name more than a name (the
particles y, e and v are no such letters)."""
_MIN_LOWER_REMARK: Final = 5
"""The shortest lower-case word that is a remark alone in a capitalised address (shorter ones are
particles of streets and towns: de, la, van, upon, sur, los)."""
ZH_PREFIXES: Final = ("老", "小", "阿")
_ZH_ADDRESS_ENDS: Final = "号室楼层栋座房號樓層棟"  # Simplified, then the Traditional forms
_ZH_SENTENCE: Final = re.compile(r"[。！？!?；;：:]")

_CJK: Final = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_TOKEN: Final = re.compile(
    # (a word may hold the geresh and gershayim of a Hebrew abbreviation between Hebrew letters, in
    # their own characters or as ' and ": הל"ה, ח"ן, תרצ"ו)
    r"(?P<word>[^\W\d_]+(?:(?:['’\-]|(?<=[\u05d0-\u05ea])[\"\u05f3\u05f4](?=[\u05d0-\u05ea]))[^\W\d_]+)*\.?)|(?P<num>\d+[A-Za-z]{0,2})|(?P<open>[(\[{<（【「『])"
    r"|(?P<close>[)\]}>）】」』])|(?P<star>[*#@!?;:|~^=+/\\\"“”。！？；：])|(?P<sep>[,，&.·\-–—_'’°])|(?P<space>\s+)"
    r"|(?P<other>.)",
    re.DOTALL,
)
_GLUED_DIGIT: Final = re.compile(r"[^\W\d_]\d++[^\W\d_]{2}|\d[^\W\d_]{3}")
_GLUED_DIGIT_ASCII: Final = re.compile(
    r"[A-Za-z][0-9]++[A-Za-z]{2}|[0-9][A-Za-z]{3}", re.ASCII
)  # on ASCII text
# ASCII text of words, numbers and plain punctuation only, where the tokeniser finds words, numbers,
# separators and spaces and nothing else (see _plain_name_problem).
_PLAIN_NAME: Final = re.compile(r"[A-Za-z0-9 ,.'\-&_]++")
_PLAIN_ADDRESS: Final = re.compile(r"[A-Za-z0-9 ,.'\-&_\n/#]++")
# The same for any script: text of letters, digits, spaces and the punctuation that only separates
# (no bracket, no sentence mark, no symbol), in which the tokeniser finds only words, numbers,
# separators and spaces; its words and numbers are then exactly the matches of _WIDE_TOKEN.
_PLAIN_NAME_WIDE: Final = re.compile(r"[\w ,.'’\-&]++")
_PLAIN_ADDRESS_WIDE: Final = re.compile(r"[\w ,.'’\-&\n/#°]++")  # ° of N° 2648, 3° piano
_WIDE_TOKEN: Final = re.compile(r"([^\W\d_]++(?:['’\-][^\W\d_]++)*+\.?)|\d++[A-Za-z]{0,2}")
_NUMBER: Final = "0"
"""How an address's words list a number (numbers stand beside region codes)."""
WORD_CACHE_SIZE: Final = 4096
"""Space-separated words whose reading is memoised (:func:`_name_chunk`, :func:`_address_chunk`).

Names and addresses are made of words that recur from customer to customer (given names, family
names, street types, towns); whole field values are never memoised.  Bounded, and dropped when a
bulk run ends (:func:`core.pii.normaliser.forget_words`)."""


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str
    text: str
    bracket: int  # nesting depth: > 0 inside brackets


class _DropTable(dict[int, str | None]):
    """``str.translate`` table: invisible characters and marks (Cf, Mn, Me, Mc) removed, filled on
    first sight of a character (characters only, never text; bounded by :data:`_MAX_CHARS`)."""

    def __missing__(self, code: int) -> str | None:
        ch = chr(code)
        # (Mc: the vowel signs of Indic scripts, no letters of their own: राहुल reads as one word)
        kept = None if ch in ZERO_WIDTH or unicodedata.category(ch) in ("Cf", "Mn", "Me", "Mc") else ch
        if len(self) < _MAX_CHARS:
            self[code] = kept
        return kept


_MAX_CHARS: Final = 4096
_DROP: Final = _DropTable()


def _clean(value: str) -> str:
    if value.isascii():
        return value
    return unicodedata.normalize("NFKC", value).translate(_DROP)


_RTL: Final = re.compile(r"[\u0590-\u08ff]")
_MIRRORED: Final = str.maketrans("()[]", ")(][")


def _tokens(value: str) -> tuple[list[_Tok], bool]:
    """Tokens with their bracket depth; the flag says whether the brackets balance.

    Text in a right-to-left script whose brackets balance only when mirrored (``)מושב(``: copied
    from a source in visual order) is read with its brackets mirrored."""
    toks, balanced = _bracket_tokens(value)
    if not balanced and _RTL.search(value) is not None:
        mirrored, balanced_mirrored = _bracket_tokens(value.translate(_MIRRORED))
        if balanced_mirrored:
            return mirrored, True
    return toks, balanced


def _bracket_tokens(value: str) -> tuple[list[_Tok], bool]:
    toks: list[_Tok] = []
    depth = 0
    balanced = True
    for m in _TOKEN.finditer(value):
        kind = m.lastgroup or "other"
        if kind == "space":
            continue
        if kind == "open":
            depth += 1
            continue
        if kind == "close":
            if depth == 0:
                balanced = False
            depth = max(0, depth - 1)
            continue
        toks.append(_Tok(kind, m.group(0), depth))
    return toks, balanced and depth == 0


def _scripts(word: str) -> set[str]:
    if word.isascii():
        return {"LATIN"}
    # a modifier letter (the apostrophe ʼ of Ukrainian Марʼяна) belongs to no script of its own
    return {_script(ch) for ch in word if ch.isalpha() and unicodedata.category(ch) != "Lm"}


@lru_cache(maxsize=_MAX_CHARS)
def _script(ch: str) -> str:
    """The first word of a letter's Unicode name (LATIN, CYRILLIC, GREEK ...), "?" if unnamed."""
    name = unicodedata.name(ch, "")
    return name.split(" ", 1)[0] if name else "?"


def _stop_words() -> frozenset[str]:
    return english_stop_words()


def _raw_given_names() -> frozenset[str]:
    """Given names including the ones that are also English words (In, May, Will, Do)."""
    return given_names_raw()


def _known_name(word: str) -> bool:
    return is_known_name(word)


def _is_place(words: Sequence[str]) -> bool:
    from core.pii.gazetteer import gazetteer

    return gazetteer().kind(" ".join(words)) is not None


def _low(word: str) -> str:
    """A word's skeleton (look-alikes and accents folded, lower case), cheaply for ASCII.

    An accented word is read through its ASCII twin (the same skeleton, see
    :mod:`core.pii.ascii_twin`) when it has one.
    """
    if word.isascii():
        return word.lower()
    twin = ascii_twin(word)
    return fold_words(word if twin is None else twin).replace(" ", "")


def _in_place(words: Sequence[str], i: int) -> bool:
    """Whether words[i] is part of a place name of one to three words (United Kingdom, Reading)."""
    for size in (1, 2, 3):
        for start in range(max(0, i - size + 1), i + 1):
            if start + size <= len(words) and _is_place(words[start : start + size]):
                return True
    return False


def _verb_form(low: str) -> bool:
    return len(low) >= 5 and low.endswith(_VERB_ENDS)


_HYPHENS: Final = re.compile(r"[\-‐‑]")


def _english_word(low: str) -> bool:
    """Whether ``low`` (a verb form's shape: -ed, -ing) is an English word or the form of one
    (:func:`core.pii.latin_words.english_word` of it or of its stem: killed, passing, dying,
    buried, grieving): a name's first word shaped as a verb form whose stem is no English word
    is a given name (Svenning)."""
    # (the lemma index itself, names kept: a verb's stem may be a family name too, Kill, Hunt)
    from core.pii.latin_words import _lemma_index, english_word

    def english_word_or_lemma(word: str) -> bool:
        return english_word(word) or word in _lemma_index()

    if english_word_or_lemma(low):
        return True
    stems: list[str] = []
    for ending in _VERB_ENDS:
        if low.endswith(ending):
            stem = low[: -len(ending)]
            stems += [stem, stem + "e"]
            if len(stem) >= 2 and stem[-1] == stem[-2]:
                stems.append(stem[:-1])  # stopped, planning
            if ending == "ing" and stem.endswith("y"):
                stems.append(stem[:-1] + "ie")  # dying, lying
            if ending == "ed" and stem.endswith("i"):
                stems.append(stem[:-1] + "y")  # buried, married
    return any(len(stem) >= 2 and english_word_or_lemma(stem) for stem in stems)


def _unknown_verb_form(word: str, low: str) -> bool:
    """A word of a name that reads as a verb (``Killed``, ``Passing``) and is no known name.

    A double-barrelled name is read part by part (``Hermighausen-Siering``,
    ``Émile-Alfred``, ``Smith-King``): each part is a name of its own, and the
    whole compound is in no name list.
    """
    if not _HYPHENS.search(word):
        return _verb_form(low) and not _known_name(low)
    return any(
        _verb_form(part_low) and not _known_name(part_low)
        for part in _HYPHENS.split(word)
        if (part_low := _low(part))
    )


# What one word of a name is, for :func:`check_name` (bit flags; see :func:`_name_word_reading`).
_N_MIXED: Final = 1  # letters of more than one script (Кilled): a disguise
_N_SKIP: Final = 2  # an honorific, a post-nominal, a particle
_N_TITLE_END: Final = 4  # the ending of an abbreviated title (Sig.ra, Dott.ssa) after an honorific
_N_HONORIFIC: Final = 8  # as written (lower case), an honorific: a title ending may follow it
_N_INITIAL: Final = 16  # one letter
_N_BARE_LOWER: Final = 32  # not capitalised, and no apostrophe (d'Arcy is a name)
_N_CAPITALISED: Final = 64
_N_STOP: Final = 128  # an English function word
_N_VERB_SHAPE: Final = 256  # reads as a verb form (-ed, -ing), or one of its hyphenated parts does
_N_KINSHIP: Final = 512


_TITLE_ATTRS: Final = ("prefixes", "prefixes_female", "prefixes_male", "prefixes_nonbinary")
_SUFFIX_ATTRS: Final = ("suffixes", "suffixes_female", "suffixes_male", "suffixes_nonbinary")


@lru_cache(maxsize=1)
def faker_titles() -> frozenset[str]:
    """The forms of address, titles and post-nominals of every locale of Faker's person provider
    (a maintained package the name lists come from already): drg., Ir., Hj., slečna, S.Pt, M.Farm,
    read word by word, lower case, as :func:`_low` reads a word.  Words of the name lists
    themselves are left out (a title is never a given or family name here)."""
    import importlib
    import pkgutil

    try:
        import faker.providers.person as person
    except ImportError:
        return frozenset()
    out: set[str] = set()
    for module in pkgutil.iter_modules(person.__path__):
        try:
            provider = importlib.import_module(f"faker.providers.person.{module.name}").Provider
        except (ImportError, AttributeError):
            continue
        for attr in (*_TITLE_ATTRS, *_SUFFIX_ATTRS):
            values = getattr(provider, attr, ())
            if not isinstance(values, list | tuple | dict):
                continue
            for value in values:
                if isinstance(value, str):
                    out.update(_low(w) for w in _WIDE_TOKEN_WORD.findall(value) if len(w) >= 2)
                    whole = value.strip().rstrip(".")
                    if " " not in whole and len(whole) >= 2:
                        out.add(_low(whole))  # a title with a hyphen: г-н, г-жа
    return frozenset(w for w in out if w and not _known_name(w) and w not in _stop_words())


_WIDE_TOKEN_WORD: Final = re.compile(r"[^\W\d_]+")


def _name_word_reading(word: str) -> tuple[int, str]:
    """``(flags, low)`` of one word of a name (as the tokeniser found it, a final dot included).

    Only what the word alone decides, with no list but the fixed ones of this module and the
    stop words: the name lists (given names, family names) are read by :func:`check_name`
    itself, only for the words that need them, as before.
    """
    word = word.rstrip(".")
    flags = _N_HONORIFIC if word.lower() in HONORIFICS else 0
    if word.isascii():
        low = word.lower()
    else:
        if len(_scripts(word)) > 1:
            return flags | _N_MIXED, word
        low = _low(word)
    if low in _NAME_SKIP or low in faker_titles():
        flags |= _N_SKIP
    if low in _TITLE_SUFFIXES:
        flags |= _N_TITLE_END
    if len(low) == 1:
        flags |= _N_INITIAL
    if word[0].isupper() or _particle_compound(word) or _IRISH_MUTATION.fullmatch(word) is not None:
        # al-Sayed, ben-David, abu-Bakr: a particle hyphenated to a capitalised name; tSaoir,
        # hAodha, bhFlaitheartaigh: an Irish name after a mutation's letters (Mac an tSaoir)
        flags |= _N_CAPITALISED
    elif "'" not in word and "’" not in word:
        flags |= _N_BARE_LOWER
    if low in _stop_words():
        flags |= _N_STOP
    if _HYPHENS.search(word) is None:
        verb = _verb_form(low)
    else:
        verb = any(_verb_form(part_low) for part in _HYPHENS.split(word) if (part_low := _low(part)))
    if verb:
        flags |= _N_VERB_SHAPE
    if low in KINSHIP:
        flags |= _N_KINSHIP
    return flags, low


_IRISH_MUTATION: Final = re.compile(
    r"(?:t(?=[SAEIOUÁÉÍÓÚ])|[hn](?=[AEIOUÁÉÍÓÚ])|n(?=[DG])|m(?=B)|g(?=C)|bh(?=F)|b(?=P)|d(?=T))[A-ZÁÉÍÓÚ][a-záéíóú]+"
)
"""An Irish name after the letters of an initial mutation, written in lower case before its
capital (Mac an tSaoir, Ó hAodha, Ní bhFlaitheartaigh): a name word, not a word in lower case."""
_IRISH_ARTICLE: Final = "an"
_IRISH_PATRONYMICS: Final = frozenset("mac nic mhic ni ui".split())
"""Irish patronymic words that the article ``an`` may follow in a name (Mac an tSaoir, Nic an Bhaird)."""


def _particle_compound(word: str) -> bool:
    """Whether ``word`` is a particle in lower case hyphenated to capitalised names (al-Sayed,
    el-Amin, ben-David, abu-Bakr, ibn-Sina): one name word, capitalised after its particle."""
    if _HYPHENS.search(word) is None:
        return False
    parts = _HYPHENS.split(word)
    return (
        len(parts) >= 2
        and parts[0].islower()
        and parts[0] in PARTICLES
        and all(p[:1].isupper() and (len(p) == 1 or not p[1:].isupper()) for p in parts[1:])
    )


@lru_cache(maxsize=WORD_CACHE_SIZE)
def _name_chunk(chunk: str) -> tuple[bool, tuple[str, ...], tuple[tuple[int, str], ...]]:
    """One space-separated word of a plain name (see :data:`_PLAIN_NAME_WIDE`), memoised: whether a
    digit is glued inside it (:data:`_GLUED_DIGIT`), its words as the tokeniser finds them, and their
    readings (:func:`_name_word_reading`).  No token and no match of the glued-digit pattern crosses a
    space, so a name's tokens are its chunks' tokens in turn."""
    words = tuple(w for w in _WIDE_TOKEN.findall(chunk) if w)
    return _GLUED_DIGIT.search(chunk) is not None, words, tuple(map(_name_word_reading, words))


# What one word of an address is, for :func:`_address_words_ok` (bit flags; see :func:`_address_word_reading`).
_A_MIXED: Final = 1  # letters of more than one script
_A_PLAIN: Final = 2  # a street type, a unit word, a function word of addresses, one character
_A_NUMBER: Final = 4  # a number (the token _NUMBER)
_A_REGION: Final = 8  # two or three capitals: a region code or a postcode's letters
_A_CLAUSE: Final = 16  # a stop word or a kinship word
_A_VERB: Final = 32  # a lower-case verb form (passed, dying)
_A_STREET: Final = 64  # a street type
_A_LOWER: Final = 128  # begins with a small letter


def _address_word_reading(raw: str) -> int:
    """The flags of one word of an address (a word as the tokeniser found it, or :data:`_NUMBER`)."""
    word = raw.rstrip(".")
    if word.isascii():
        low = word.lower()
    elif len(_scripts(word)) > 1:
        return _A_MIXED
    else:
        low = _low(word)
    flags = 0
    more_plain, more_streets = _more_address_words()
    written_plain, written_streets = (
        _more_written_words() if not word.isascii() else (frozenset(), frozenset())
    )
    written = word.lower()
    if low in _ADDRESS_PLAIN or low in more_plain or written in written_plain or len(low) <= 1:
        flags |= _A_PLAIN
    if low == _NUMBER:
        flags |= _A_NUMBER
    if _region_code(word):
        flags |= _A_REGION
    if (low in _stop_words() and low not in _CONTRACTION_PIECES) or low in KINSHIP:
        flags |= _A_CLAUSE
    if len(low) >= 5 and low.endswith(_VERB_ENDS) and word[0].islower():
        flags |= _A_VERB
    if low in STREET_TYPES or low in more_streets or written in written_streets:
        flags |= _A_STREET
    if word[0].islower():
        flags |= _A_LOWER
    return flags


@lru_cache(maxsize=1)
def _more_address_words() -> tuple[frozenset[str], frozenset[str]]:
    """(address words, street types) read as :func:`_low` reads a word (accents folded: phường
    is phuong, straße strasse): the street types of :data:`STREET_TYPES` and of
    :func:`core.pii.address_words.more_street_types` (Vietnamese, Hungarian, Finnish: đường, utca,
    katu), the unit words, and the words of countries' divisions and towns' names
    (:func:`core.pii.address_words.division_words`: phường, quận, thành phố, los altos)."""
    streets = {_low(w) for w in address_words.more_street_types()}
    streets |= {_low(w) for w in STREET_TYPES if not w.isascii()}
    plain = set(streets)
    plain |= {_low(w) for w in address_words.division_words()}
    plain |= {_low(w) for w in UNIT_WORDS if not w.isascii()}
    plain |= {_low(w) for w in address_words.more_unit_words()}
    # a word whose accents fold it into an English function word (Vietnamese tổ, số: to, so) counts
    # as written only (see _more_written_words): "to" and "so" stay function words
    common = _stop_words() | KINSHIP
    return frozenset(w for w in plain if w and w not in common), frozenset(
        w for w in streets if w and w not in common
    )


@lru_cache(maxsize=1)
def _more_written_words() -> tuple[frozenset[str], frozenset[str]]:
    """The words of :func:`_more_address_words` as written, in lower case, accents kept (số, tổ,
    đường): a word written so is an address word even where its folded form is an English word."""
    streets = set(address_words.more_street_types())
    plain = streets | address_words.division_words() | address_words.more_unit_words()
    return frozenset(w for w in plain if not w.isascii()), frozenset(w for w in streets if not w.isascii())


def _compound_street(low: str) -> bool:
    """Whether ``low`` (a lower-case word) is a street's name glued to a street type written in lower
    case (puistokatu, koulupolku): a type of four letters or more of :func:`_more_address_words`
    after three letters or more."""
    return any(
        len(end) >= _MIN_COMPOUND_END - 1 and len(low) - len(end) >= _MIN_COMPOUND_END and low.endswith(end)
        for end in _more_address_words()[1]
    )


_MIN_COMPOUND_END: Final = 4


@lru_cache(maxsize=WORD_CACHE_SIZE)
def _address_chunk(chunk: str) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """One space-separated word of a plain address, memoised: its words and numbers (each number
    as :data:`_NUMBER`) and their flags (:func:`_address_word_reading`); see :func:`_name_chunk`."""
    words = tuple(w or _NUMBER for w in _WIDE_TOKEN.findall(chunk))
    return words, tuple(map(_address_word_reading, words))


_NUMBER_FLAGS: Final = _A_PLAIN | _A_NUMBER  # what _address_word_reading reads in _NUMBER


def _forget_words() -> None:
    _name_chunk.cache_clear()
    _address_chunk.cache_clear()


register_word_cache(_forget_words)


def _zh_name_ok(core: str) -> bool:
    from core.pii.gazetteer import chinese_surnames

    core = to_simplified(core)
    for title in ZH_TITLES:
        if core.endswith(title) and len(core) > len(title):
            core = core[: -len(title)]
            break
    for prefix in ZH_PREFIXES:
        if core.startswith(prefix) and len(core) == 2:
            return True  # 老王, 小李, 阿明
    if "·" in core or "・" in core:
        parts = re.split(r"[·・]", core)
        # a transliterated name (约翰·史密斯): its parts are syllables of names, one of a single
        # character at most; a word with a dot between each character (孩·子·没·了) is no name
        single = sum(1 for p in parts if len(p) == 1)
        return 2 <= len(parts) <= 4 and all(1 <= len(p) <= 5 for p in parts) and single <= 1
    surnames = chinese_surnames()
    for size in (2, 1):
        if len(core) > size and core[:size] in surnames and 1 <= len(core) - size <= 2:
            return True
    if len(core) <= 3:
        return True  # a short transliterated name (大卫) is no remark
    return len(core) <= _ZH_MODEL_NAME_CHARS and _zh_model_reads_one_name(core)


_ZH_MODEL_NAME_CHARS: Final = 6
"""The longest Chinese name (without a title) that the NER model is asked about."""


def _zh_model_reads_one_name(core: str) -> bool:
    """Whether the Chinese NER model reads ``core`` whole as one person's name: a compound surname
    that the surname list lacks (上官婉儿) or a transliterated name (伊丽莎白, 迪丽热巴).

    Its best reading only (the name-leaning second reading finds names where there are none), and
    twice: the whole must be one person, and its last two characters read alone must be a name
    too, not a word (王伟喇嘛, which the model reads as one person, ends in 喇嘛, a monk).  A remark
    after a name is no part of it (王伟已故: 王伟 and a verb).  Fails closed: when the model cannot
    be loaded, the rules' answer (extra text) stands."""
    from core.errors import ConfigError
    from core.pii.zh_ner import NAME_HINT, chinese_tagger

    try:
        tagger = chinese_tagger()
    except ConfigError:
        return False

    def one_person(text: str, tags: tuple[str, ...]) -> bool:
        return any(w.start == 0 and w.end == len(text) and w.tag in tags for w in tagger.tag(text))

    # the ending alone may be a name by the name-leaning reading too (热巴 of 迪丽热巴); a word
    # such as 喇嘛 or 寡妇 is a name by neither
    return one_person(core, ("PER",)) and one_person(core[-2:], ("PER", NAME_HINT))


def check_name(value: str) -> str | None:
    """``name_extra_text`` when ``value`` holds more than a personal name, else None."""
    return _check_name(value, fast=True)


def _check_name(value: str, *, fast: bool) -> str | None:
    """:func:`check_name`; ``fast=False`` reads every name with the full tokeniser and every word
    afresh (the slow path the tests compare the fast one with)."""
    if len(value) > MAX_CHECKED_CHARS:
        return NAME_EXTRA_TEXT
    text = _clean(value).strip()
    if not text:
        return None
    if "(" in text:
        text = _GENDER_ENDING.sub("", text)  # Sr(a)., Dr(a).: a title for either
    if _digits_in_words(text) or _lone_apostrophe(text):
        return NAME_EXTRA_TEXT
    plain = text.isascii()
    if fast and (
        _PLAIN_NAME.fullmatch(text) if plain else _PLAIN_NAME_WIDE.fullmatch(text) and not _CJK.search(text)
    ):
        return _plain_name_problem(text)  # the common case, read word by word (memoised)
    if plain:  # the same test on ASCII text (letters are A-Z, digits 0-9), cheaper
        if _GLUED_DIGIT_ASCII.search(text):
            return NAME_EXTRA_TEXT
    elif _CJK.search(text):
        if _ZH_SENTENCE.search(text) or re.search(r"[(\[（【]", text):
            return NAME_EXTRA_TEXT
        latin = _CJK.sub(" ", text)
        core = "".join(ch for ch in text if _CJK.match(ch) or ch in "·・")
        if _FAMILY_SPACE_GIVEN.fullmatch(text) is not None:
            return None  # a family name, a space, a given name (Japanese: 山本 京助)
        if not _zh_name_ok(core):
            return NAME_EXTRA_TEXT
        return _check_name(latin, fast=fast) if latin.strip() else None
    elif _GLUED_DIGIT.search(text):
        return NAME_EXTRA_TEXT  # digits inside a word (K1lled); a number on its own is a code
    toks, balanced = _tokens(text)
    if not balanced:
        return NAME_EXTRA_TEXT
    words = [t for t in toks if t.kind == "word"]
    if any(t.kind in ("star", "other") for t in toks):
        return NAME_EXTRA_TEXT
    inner = [t for t in words if t.bracket > 0]
    if inner and not _nickname(inner):
        return NAME_EXTRA_TEXT
    outer = [t.text for t in words if t.bracket == 0]
    return _name_words_problem(outer, list(map(_name_word_reading, outer)))


_FAMILY_SPACE_GIVEN: Final = re.compile(r"[\u4e00-\u9fff]{1,3} [\u4e00-\u9fff]{1,3}")
"""A name of ideographs written family name first, a space, then the given name (山本 京助, 王 伟)."""
_GENDER_ENDING: Final = re.compile(r"(?<=[^\W\d_])\((?:a|as|o|os|e|es)\)")
"""A title's other gender glued to it in brackets (Sr(a)., Dr(a)., Estimado(a)): one title."""
_ORDINAL: Final = re.compile(r"\d{1,3}(?:st|nd|rd|th)\.?,?", re.IGNORECASE)


_DIGIT_THEN_LETTER: Final = re.compile(r"\d[^\W\d_]")


def _digits_in_words(text: str) -> bool:
    """Whether a word of a name has a small letter after a digit, an ordinal aside (John Smith
    3rd): leetspeak too short for the glued-digit rule (1s g4y, 3x-c0n, 0f).  Capitals with
    digits are a code (a customer number such as C0, a unit 4B), and a number after a word
    (Number12, a pseudonym) is no leetspeak: both pass as before."""
    if _DIGIT_THEN_LETTER.search(text) is None:  # no digit before a letter (one pass, in C): no such word
        return False
    for chunk in text.split():
        if (
            any(a.isdigit() and b.islower() for a, b in itertools.pairwise(chunk))
            and _ORDINAL.fullmatch(chunk) is None
        ):
            return True
    return False


_LONE_APOSTROPHE: Final = re.compile(r"(?<![^\W\d_])['’](?![^\W\d_])")


def _lone_apostrophe(text: str) -> bool:
    """Whether an apostrophe touches no letter (``O.D.'.D``, ``D.E.C.'.D``): a contraction spelled
    out letter by letter; a name's or a place's apostrophe stands beside a letter (O'Neil, Jones',
    Ca' De' Stefani, 'Bob')."""
    return ("'" in text or "’" in text) and _LONE_APOSTROPHE.search(text) is not None


def _plain_name_problem(text: str) -> str | None:
    """:func:`check_name` of a name without CJK made of words, numbers, spaces and separating
    punctuation only (:data:`_PLAIN_NAME`, :data:`_PLAIN_NAME_WIDE`): there the tokeniser finds
    nothing but the words and numbers of :data:`_WIDE_TOKEN`, read here chunk by chunk."""
    outer: list[str] = []
    readings: list[tuple[int, str]] = []
    for chunk in text.split():
        if chunk.isdecimal():
            continue  # a number alone: no word, no digit glued to letters
        glued, words, read = _name_chunk(chunk)
        if glued:
            return NAME_EXTRA_TEXT  # digits inside a word (K1lled); a number on its own is a code
        outer += words
        readings += read
    return _name_words_problem(outer, readings)


def _name_words_problem(outer: Sequence[str], readings: Sequence[tuple[int, str]]) -> str | None:
    """``name_extra_text`` when the words of a name (outside brackets; ``readings`` are their
    :func:`_name_word_reading`) are more than a name, else None."""
    joined = "".join(outer)  # the case of the letters (a final dot has none)
    mixed_case = _mixed_case(joined)
    all_caps = joined == joined.upper() and joined != joined.lower()
    name_words = function_words = initials = small_letters = 0
    count = len(outer)
    previous = 0
    for i, (flags, low) in enumerate(readings):
        before, previous = previous, flags
        if flags & _N_MIXED:
            return NAME_EXTRA_TEXT  # Latin and Cyrillic in one word: a disguise
        initials = initials + 1 if flags & _N_INITIAL else 0
        if initials > MAX_INITIALS:
            return NAME_EXTRA_TEXT  # a word spelled out letter by letter: K. i. l. l. e. d
        if flags & _N_SKIP:
            continue  # an honorific, a post-nominal, a particle
        if flags & _N_TITLE_END and before & _N_HONORIFIC:
            continue  # the ending of an abbreviated title: Sig.ra, Dott.ssa
        if flags & _N_INITIAL:
            if mixed_case and flags & _N_BARE_LOWER:
                small_letters += 1
                if small_letters >= _MAX_SMALL_LETTERS:
                    # initials are capitals: small letters standing alone in a capitalised name
                    # are a word spelled out or in leetspeak (c a d x, 1s g4y, 3x-c0n)
                    return NAME_EXTRA_TEXT
            continue  # an initial
        if (
            low == _IRISH_ARTICLE
            and outer[i].rstrip(".") == low
            and 0 < i < count - 1
            and readings[i - 1][1] in _IRISH_PATRONYMICS
            and readings[i + 1][0] & _N_CAPITALISED
        ):
            continue  # the article of an Irish patronymic: Mac an tSaoir, Nic an Bhaird
        name_words += 1
        if mixed_case and flags & _N_BARE_LOWER:
            return NAME_EXTRA_TEXT  # a lower-case word inside a capitalised name
        if flags & _N_STOP:
            if not (count <= 4 and (flags & _N_CAPITALISED or not mixed_case) and low in _raw_given_names()):
                function_words += 1
                if function_words >= 2 or count >= 4:
                    return NAME_EXTRA_TEXT  # "Is In", "Lost Son In Accident": a clause
            continue
        after_particle = i > 0 and outer[i - 1].islower() and readings[i - 1][0] & _N_SKIP
        if (
            flags & _N_VERB_SHAPE
            and not (after_particle and flags & _N_CAPITALISED)  # a family name: den Teuling, van Gerding
            and not (name_words == 1 and flags & _N_CAPITALISED and not _english_word(low))  # Svenning
            and _unknown_verb_form(outer[i].rstrip("."), low)
        ):
            return NAME_EXTRA_TEXT  # a verb form (_verb_form) that is no known name
        if flags & _N_KINSHIP and 0 < i < count - 1 and not (all_caps and _known_name(low)):
            return NAME_EXTRA_TEXT
    if name_words > MAX_NAME_WORDS:
        return NAME_EXTRA_TEXT
    return None


def _nickname(inner: Sequence[_Tok]) -> bool:
    """A bracketed nickname or maiden name: ``(Bob)``, ``(née Smith)``."""
    words = [t.text.rstrip(".") for t in inner]
    if words and words[0].lower() in ("née", "nee", "geb", "formerly"):
        words = words[1:]
    return 1 <= len(words) <= 2 and all(
        w[0].isupper()
        and not (len(w) > 1 and w.isupper())  # (RIP), (DECD): an abbreviation, not a nickname
        and _low(w) not in _stop_words()
        and not _verb_form(_low(w))
        for w in words
    )


_KANA: Final = re.compile(r"[\u30a0-\u30ff]")
"""Katakana after a Japanese house number: a building's name (コーポ, ハイツ), which Chinese remarks never hold."""
_ZH_DIVISIONS: Final = frozenset("省市区县州盟旗镇乡縣區鎮鄉")
_ZH_DIVISION_CHARS: Final = 12
_ZH_SEPARATORS: Final = " \t,，、"


def _zh_division_after(tail: str) -> bool:
    """Whether what follows a Chinese house number is the town, county or province, after a comma
    (…12号, 郑州市; …8号 浙江省杭州市): ideographs only, a division's character last, a few at most."""
    rest = tail.strip(_ZH_SEPARATORS)
    return (
        2 <= len(rest) <= _ZH_DIVISION_CHARS
        and rest[-1] in _ZH_DIVISIONS
        and all("\u4e00" <= ch <= "\u9fff" for ch in rest)
    )


def check_address(value: str) -> str | None:
    """``address_extra_text`` when ``value`` holds more than an address, else None."""
    return _check_address(value, fast=True)


_PART: Final = re.compile(r"[^,;\n]++")
_TITLE_WORD: Final = re.compile(r"[A-Z][a-z]++")
_NAMED_PART_WORDS: Final = 3
_PLACE_STANDIN: Final = "Place"
#: Pieces of English contractions that spaCy lists as stop words (ca of ca-n't, nt, ve, re, ll): no
#: clause in an address (Ca' De' Stefani).
_CONTRACTION_PIECES: Final = frozenset({"ca", "nt", "ve", "re", "ll"})


def _named_parts(value: str) -> str | None:
    """``value`` with each part of it (between commas, semicolons and line breaks) that is a place's
    own name written as one: one to three capitalised words, a function word among them but not
    first (Pity Me; More alone, as a street of India), no kinship word, no verb form, and no word of
    the sensitive terms (the screen reads those), replaced by a stand-in place name; None when no
    part is.  A remark in capitals begins with its function word (In Psych Ward, Is Gay) or holds
    a kinship word or a verb form (Son Passed, Wife Has Died).  Linear: each part is read once."""
    changed = False
    out: list[str] = []
    pos = 0
    for part in _PART.finditer(value):
        words = part.group(0).split()
        if not (1 <= len(words) <= _NAMED_PART_WORDS) or not all(_TITLE_WORD.fullmatch(w) for w in words):
            continue
        lows = [w.lower() for w in words]
        stops = [w in _stop_words() and w not in _CONTRACTION_PIECES for w in lows]
        if not any(stops) or (stops[0] and len(words) > 1):
            continue
        if any(w in KINSHIP or _verb_form(w) for w in lows):
            continue
        a, b = part.span()
        out.append(value[pos:a])
        out.append(_PLACE_STANDIN)
        pos = b
        changed = True
    if not changed:
        return None
    out.append(value[pos:])
    return "".join(out)


def _check_address(value: str, *, fast: bool) -> str | None:
    """:func:`check_address`; ``fast=False`` as :func:`_check_name` (the slow path of the tests)."""
    problem = _check_address_once(value, fast=fast)
    if problem is not None and len(value) <= MAX_CHECKED_CHARS:
        named = _named_parts(value)
        if named is not None and _check_address_once(named, fast=fast) is None:
            return None  # a place named with a function word: Pity Me, More (a street of India)
    return problem


def _check_address_once(value: str, *, fast: bool) -> str | None:
    if len(value) > MAX_CHECKED_CHARS:
        return ADDRESS_EXTRA_TEXT
    text = _clean(value).strip()
    if not text:
        return None
    if _part_ends_in_remark(text) or _lone_apostrophe(text):
        return ADDRESS_EXTRA_TEXT
    plain = text.isascii()
    if fast and (
        _PLAIN_ADDRESS.fullmatch(text)
        if plain
        else _PLAIN_ADDRESS_WIDE.fullmatch(text) and not _CJK.search(text)
    ):  # the common case, read word by word (memoised): see _plain_name_problem
        outer: list[str] = []
        flags: list[int] = []
        for chunk in text.split():
            if chunk.isdecimal():  # a number alone (a house number): no need to look it up
                outer.append(_NUMBER)
                flags.append(_NUMBER_FLAGS)
                continue
            words, read = _address_chunk(chunk)
            outer += words
            flags += read
        return None if _address_flags_ok(outer, flags, strict=False) else ADDRESS_EXTRA_TEXT
    if not plain and _CJK.search(text):
        if re.search(r"[(\[（【]", text) or _ZH_SENTENCE.search(text):
            return ADDRESS_EXTRA_TEXT
        end = max(text.rfind(c) for c in _ZH_ADDRESS_ENDS)
        tail = text[end + 1 :]
        if (
            end >= 0
            and len(_CJK.findall(tail)) >= 2
            and not _zh_division_after(tail)
            and not _KANA.search(tail)
        ):
            return ADDRESS_EXTRA_TEXT  # words after the house number: a remark, not an address
        latin = _CJK.sub(" ", text)
        return _check_address_once(latin, fast=fast) if re.search(r"[A-Za-z]{2}", latin) else None
    # Words, with each number as the one-character token "0" (numbers stand beside region codes).
    toks, balanced = _tokens(text)
    if not balanced or any(t.kind in ("star", "other") and t.text not in "#/" for t in toks):
        return ADDRESS_EXTRA_TEXT
    inner = [t.text for t in toks if t.kind == "word" and t.bracket > 0]
    bracketed_code = len(inner) == 1 and _region_code(inner[0])  # Cagliari (CA)
    if inner and not bracketed_code and not _address_words_ok(inner, strict=True):
        return ADDRESS_EXTRA_TEXT
    outer = [
        t.text if t.kind == "word" else _NUMBER for t in toks if t.bracket == 0 and t.kind in ("word", "num")
    ]
    if not _address_words_ok(outer, strict=False):
        return ADDRESS_EXTRA_TEXT
    return None


def _address_words_ok(raw: Sequence[str], *, strict: bool) -> bool:
    """Whether the words of an address (each number as :data:`_NUMBER`) read as an address."""
    return _address_flags_ok(raw, list(map(_address_word_reading, raw)), strict=strict)


def _address_flags_ok(raw: Sequence[str], flags: Sequence[int], *, strict: bool) -> bool:
    """:func:`_address_words_ok` of words whose flags (:func:`_address_word_reading`) are known."""
    count = len(flags)
    mixed_case = _mixed_case("".join(raw))  # the case of the letters (a final dot has none)
    lower_run = letters = 0
    for i, word in enumerate(flags):
        if word & _A_MIXED:
            return False
        letters = letters + 1 if len(raw[i].rstrip(".")) == 1 and raw[i][0].isalpha() else 0
        if letters > MAX_INITIALS:
            return False  # a word spelled out letter by letter: not an address
        if word & _A_PLAIN:
            lower_run = 0
            continue  # a street type, a unit word, a function word of addresses, one character
        beside_number = (i > 0 and flags[i - 1] & _A_NUMBER) or (i + 1 < count and flags[i + 1] & _A_NUMBER)
        if word & _A_REGION and (beside_number or i == count - 1):
            lower_run = 0
            continue  # a state, province or postcode part beside a number or last: OR 97201, 9030 IS
        if strict and word & _A_CLAUSE:
            return False  # "(son in hospital)", "(or ring ...)": a remark in brackets
        if word & (_A_CLAUSE | _A_VERB):
            street_next = any(after & _A_STREET for after in flags[i + 1 : i + 3])
            if not street_next and not _in_place([w.rstrip(".") for w in raw], i):
                return False  # a clause (he, has, her, son) or a verb (passed): not a street or place
            continue
        if mixed_case and word & _A_LOWER:
            lower_run += 1
            if lower_run >= 3:
                return False  # lower-case prose inside a capitalised address
            if (
                len(raw[i]) >= _MIN_LOWER_REMARK
                and raw[i].isalpha()
                and not _names_after(raw, i + 1)
                and not _street_name_before(raw, flags, i)  # sándor utca, Na delih 549
                and not _compound_street(_low(raw[i]))
                and not _in_place([w.rstrip(".") for w in raw], i)
            ):
                # one long lower-case word in a capitalised address that names nothing after it
                # (not "chemin Gomez", "aleja Maja", "della Spiga"), no function word of addresses
                # and no part of a place (Weston-super-Mare): a remark typed into the address
                # ("Flat 2 bankrupt, 14 High Street", a misspelt "parkisnons" after the postcode)
                return False
        else:
            lower_run = 0
    return not (strict and count > 4)


_ADDRESS_PARTS: Final = re.compile(r"[^,;\n]++")
_PART_WORDS: Final = re.compile(r"[^\W\d_]++")


def _part_ends_in_remark(text: str) -> bool:
    """Whether a part of the address (between commas, semicolons, line breaks) ends in one long
    lower-case word after a capitalised one: "7 Mill Lane bankrupt, Cork", "Oak Road insolvnet".
    A street's or a town's words are capitalised, its particles short (de, la, upon); a
    function word of addresses, a stop word and a part of a place pass."""
    for part in _ADDRESS_PARTS.findall(text):
        words = _PART_WORDS.findall(part)
        if len(words) < 2:
            continue
        last = words[-1]
        if not (last.islower() and len(last) >= _MIN_LOWER_REMARK and part.rstrip(" .\t\r").endswith(last)):
            continue
        if not any(w[0].isupper() for w in words[:-1]):
            continue  # a part in lower case only: its case says nothing
        low = _low(last)
        if (
            low in _ADDRESS_PLAIN
            or low in _more_address_words()[0]
            or _compound_street(low)
            or low in _stop_words()
            or _in_place(words, len(words) - 1)
        ):
            continue
        return True
    return False


def _street_name_before(raw: Sequence[str], flags: Sequence[int], i: int) -> bool:
    """Whether the lower-case word ``raw[i]`` is part of a street's name written in lower case after
    its first word, as Slovene, Croatian, Slovak and Hungarian addresses write it: a street type
    follows it (Petőfi sándor utca), or the house number does, directly or after one more such
    word (Na delih 549, Trg francoske revolucije 177).  Three words in lower case are prose
    anyway (see :func:`_address_flags_ok`)."""
    count = len(flags)
    if i + 1 < count and flags[i + 1] & (_A_STREET | _A_NUMBER):
        return True
    return (
        i + 2 < count
        and bool(flags[i + 2] & _A_NUMBER)
        and raw[i + 1].islower()
        and raw[i + 1].isalpha()
        and not flags[i + 1] & (_A_CLAUSE | _A_VERB)
    )


def _names_after(raw: Sequence[str], start: int) -> bool:
    """Whether ``raw[start:]`` begins, after short lower-case particles (de, la, van), with a
    capitalised word of a name (chemin de Blanchet, aleja Maja), not a code (BS3, OR) or a number."""
    for word in raw[start:]:
        if word.islower() and len(word) < _MIN_LOWER_REMARK:
            continue
        return len(word) >= 2 and word[0].isupper() and not word.isupper() and word.isalpha()
    return False


def _region_code(word: str) -> bool:
    """Two or three capital letters: a state or province code (OR, ME, CA) or a postcode's letters."""
    return 2 <= len(word) <= 3 and word.isascii() and word.isalpha() and word.isupper()


def _mixed_case(letters: str) -> bool:
    return letters != letters.lower() and letters != letters.upper()


def check_field(field: str, value: str) -> str | None:
    """The shape check for a customer field (``full_name``/``first_name``: name; ``postal_address``)."""
    if field in ("full_name", "first_name", "last_name"):
        return check_name(value)
    if field == "postal_address":
        return check_address(value)
    return None
