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

Known names come from the given-name dictionary (gender-guesser) and the
surname lists (census, faker) in :mod:`core.pii.gazetteer`, loaded only when a
word needs them.  Every check is linear in the field's length and fields longer
than :data:`MAX_CHECKED_CHARS` are extra text without further analysis.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from core.pii.ascii_twin import ascii_twin
from core.pii.gazetteer import english_stop_words, given_names_raw, is_known_name
from core.pii.normaliser import ZERO_WIDTH, fold_words
from core.pii.zh_convert import to_simplified

NAME_EXTRA_TEXT: Final = "name_extra_text"
ADDRESS_EXTRA_TEXT: Final = "address_extra_text"
MAX_CHECKED_CHARS: Final = 400
MAX_NAME_WORDS: Final = 6

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
    "ap mac st ste dos das do y e zu ter ten af av abu umm nee née geb and & of".split()
)
KINSHIP: Final = frozenset(
    "son sons daughter daughters wife husband mother father mum mom dad child children kid kids baby "
    "brother sister parents widow widower spouse partner family grandson granddaughter".split()
)
STREET_TYPES: Final = frozenset(
    "road rd street st lane ln way avenue ave close cl drive dr place pl court ct crescent cres terrace tce "
    "hill grove gardens gdns park square sq row walk mews view green rise parade boulevard blvd highway hwy "
    "circle cir path alley wharf quay yard gate bridge end side field fields cottages villas heights "
    "via viale piazza rue calle avenida strasse straße weg platz laan straat vej gatan".split()
)
UNIT_WORDS: Final = frozenset(
    "flat apt apartment unit suite floor fl room rm block building bldg house no number po box basement "
    "ground first second third fourth top rear front upper lower c/o co care estate tower court lodge "
    "farm cottage manor hall mill barn studio entrance door back annex annexe".split()
)
ADDRESS_FUNCTION_WORDS: Final = frozenset(
    "of the and on upon in at by under over next to off near opposite behind above below via "
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
ZH_PREFIXES: Final = ("老", "小", "阿")
_ZH_ADDRESS_ENDS: Final = "号室楼层栋座房"
_ZH_SENTENCE: Final = re.compile(r"[。！？!?；;：:]")

_CJK: Final = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_TOKEN: Final = re.compile(
    r"(?P<word>[^\W\d_]+(?:['’\-][^\W\d_]+)*\.?)|(?P<num>\d+[A-Za-z]{0,2})|(?P<open>[(\[{<（【「『])"
    r"|(?P<close>[)\]}>）】」』])|(?P<star>[*#@!?;:|~^=+/\\\"“”。！？；：])|(?P<sep>[,，&.·\-–—_'’])|(?P<space>\s+)"
    r"|(?P<other>.)",
    re.DOTALL,
)
# ASCII text of words, numbers and plain punctuation only: the same words as the tokeniser finds.
_GLUED_DIGIT: Final = re.compile(r"[^\W\d_]\d++[^\W\d_]{2}|\d[^\W\d_]{3}")
_GLUED_DIGIT_ASCII: Final = re.compile(
    r"[A-Za-z][0-9]++[A-Za-z]{2}|[0-9][A-Za-z]{3}", re.ASCII
)  # on ASCII text
_PLAIN_NAME: Final = re.compile(r"[A-Za-z0-9 ,.'\-&_]++")
_PLAIN_ADDRESS: Final = re.compile(r"[A-Za-z0-9 ,.'\-&_\n/#]++")
_ASCII_TOKEN: Final = re.compile(r"([A-Za-z]+(?:['\-][A-Za-z]+)*\.?)|\d+[A-Za-z]{0,2}")


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str
    text: str
    bracket: int  # nesting depth: > 0 inside brackets


class _DropTable(dict[int, str | None]):
    """``str.translate`` table: invisible characters and marks (Cf, Mn, Me) removed, filled on
    first sight of a character (characters only, never text; bounded by :data:`_MAX_CHARS`)."""

    def __missing__(self, code: int) -> str | None:
        ch = chr(code)
        kept = None if ch in ZERO_WIDTH or unicodedata.category(ch) in ("Cf", "Mn", "Me") else ch
        if len(self) < _MAX_CHARS:
            self[code] = kept
        return kept


_MAX_CHARS: Final = 4096
_DROP: Final = _DropTable()


def _clean(value: str) -> str:
    if value.isascii():
        return value
    return unicodedata.normalize("NFKC", value).translate(_DROP)


def _tokens(value: str) -> tuple[list[_Tok], bool]:
    """Tokens with their bracket depth; the flag says whether the brackets balance."""
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
    return {_script(ch) for ch in word if ch.isalpha()}


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
        return 2 <= len(parts) <= 4 and all(1 <= len(p) <= 5 for p in parts)
    surnames = chinese_surnames()
    for size in (2, 1):
        if len(core) > size and core[:size] in surnames and 1 <= len(core) - size <= 2:
            return True
    return len(core) <= 3  # a short transliterated name (大卫) is no remark


def check_name(value: str) -> str | None:
    """``name_extra_text`` when ``value`` holds more than a personal name, else None."""
    if len(value) > MAX_CHECKED_CHARS:
        return NAME_EXTRA_TEXT
    text = _clean(value).strip()
    if not text:
        return None
    plain = text.isascii()
    if plain:  # the same test on ASCII text (letters are A-Z, digits 0-9), cheaper
        if _GLUED_DIGIT_ASCII.search(text):
            return NAME_EXTRA_TEXT
    elif _CJK.search(text):
        if _ZH_SENTENCE.search(text) or re.search(r"[(\[（【]", text):
            return NAME_EXTRA_TEXT
        latin = _CJK.sub(" ", text)
        core = "".join(ch for ch in text if _CJK.match(ch) or ch in "·・")
        if not _zh_name_ok(core):
            return NAME_EXTRA_TEXT
        return check_name(latin) if latin.strip() else None
    elif _GLUED_DIGIT.search(text):
        return NAME_EXTRA_TEXT  # digits inside a word (K1lled); a number on its own is a code
    if plain and _PLAIN_NAME.fullmatch(text):  # the common case, without the full tokeniser
        outer = [w.rstrip(".") for w in _ASCII_TOKEN.findall(text) if w]
    else:
        toks, balanced = _tokens(text)
        if not balanced:
            return NAME_EXTRA_TEXT
        words = [t for t in toks if t.kind == "word"]
        if any(t.kind in ("star", "other") for t in toks):
            return NAME_EXTRA_TEXT
        inner = [t for t in words if t.bracket > 0]
        if inner and not _nickname(inner):
            return NAME_EXTRA_TEXT
        outer = [t.text.rstrip(".") for t in words if t.bracket == 0]
    joined = "".join(outer)
    mixed_case = _mixed_case(joined)
    all_caps = joined == joined.upper() and joined != joined.lower()
    name_words = function_words = 0
    stop = _stop_words()
    count = len(outer)
    for i, word in enumerate(outer):
        if word.isascii():
            low = word.lower()
        elif len(_scripts(word)) > 1:
            return NAME_EXTRA_TEXT  # Latin and Cyrillic in one word: a disguise
        else:
            low = _low(word)
        if low in _NAME_SKIP:
            continue  # an honorific, a post-nominal, a particle
        if low in _TITLE_SUFFIXES and i > 0 and outer[i - 1].lower() in HONORIFICS:
            continue  # the ending of an abbreviated title: Sig.ra, Dott.ssa
        if len(low) == 1:
            continue  # an initial
        name_words += 1
        capitalised = word[0].isupper()
        if mixed_case and not capitalised and "'" not in word and "’" not in word:
            return NAME_EXTRA_TEXT  # a lower-case word inside a capitalised name
        if low in stop:
            if not (count <= 4 and (capitalised or not mixed_case) and low in _raw_given_names()):
                function_words += 1
                if function_words >= 2 or count >= 4:
                    return NAME_EXTRA_TEXT  # "Is In", "Lost Son In Accident": a clause
            continue
        if _unknown_verb_form(word, low):
            return NAME_EXTRA_TEXT  # a verb form (_verb_form) that is no known name
        if low in KINSHIP and 0 < i < count - 1 and not (all_caps and _known_name(low)):
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


def check_address(value: str) -> str | None:
    """``address_extra_text`` when ``value`` holds more than an address, else None."""
    if len(value) > MAX_CHECKED_CHARS:
        return ADDRESS_EXTRA_TEXT
    text = _clean(value).strip()
    if not text:
        return None
    plain = text.isascii()
    if not plain and _CJK.search(text):
        if re.search(r"[(\[（【]", text) or _ZH_SENTENCE.search(text):
            return ADDRESS_EXTRA_TEXT
        end = max(text.rfind(c) for c in _ZH_ADDRESS_ENDS)
        if end >= 0 and len(_CJK.findall(text[end + 1 :])) >= 2:
            return ADDRESS_EXTRA_TEXT  # words after the house number: a remark, not an address
        latin = _CJK.sub(" ", text)
        return check_address(latin) if re.search(r"[A-Za-z]{2}", latin) else None
    # Words, with each number as the one-character token "0" (numbers stand beside region codes).
    if plain and _PLAIN_ADDRESS.fullmatch(text):  # the common case, without the full tokeniser
        outer = [m.group(1) or _NUMBER for m in _ASCII_TOKEN.finditer(text)]
    else:
        toks, balanced = _tokens(text)
        if not balanced or any(t.kind in ("star", "other") and t.text not in "#/" for t in toks):
            return ADDRESS_EXTRA_TEXT
        inner = [t.text for t in toks if t.kind == "word" and t.bracket > 0]
        bracketed_code = len(inner) == 1 and _region_code(inner[0])  # Cagliari (CA)
        if inner and not bracketed_code and not _address_words_ok(inner, strict=True):
            return ADDRESS_EXTRA_TEXT
        outer = [
            t.text if t.kind == "word" else _NUMBER
            for t in toks
            if t.bracket == 0 and t.kind in ("word", "num")
        ]
    if not _address_words_ok(outer, strict=False):
        return ADDRESS_EXTRA_TEXT
    return None


def _address_words_ok(raw: Sequence[str], *, strict: bool) -> bool:
    words = [w.rstrip(".") for w in raw]
    lows = [w.lower() if w.isascii() else _low(w) for w in words]
    mixed_case = _mixed_case("".join(words))
    stop = _stop_words()
    lower_run = 0
    for i, low in enumerate(lows):
        word = words[i]
        if not word.isascii() and len(_scripts(word)) > 1:
            return False
        if low in _ADDRESS_PLAIN or len(low) <= 1:
            lower_run = 0
            continue  # a street type, a unit word, a function word of addresses, one character
        beside_number = _NUMBER in lows[max(0, i - 1) : i] or _NUMBER in lows[i + 1 : i + 2]
        if _region_code(word) and (beside_number or i == len(lows) - 1):
            lower_run = 0
            continue  # a state, province or postcode part beside a number or last: OR 97201, 9030 IS
        clause_word = low in stop or low in KINSHIP
        if strict and clause_word:
            return False  # "(son in hospital)", "(or ring ...)": a remark in brackets
        if clause_word or (len(low) >= 5 and low.endswith(_VERB_ENDS) and word[0].islower()):
            street_next = any(f in STREET_TYPES for f in lows[i + 1 : i + 3])
            if not street_next and not _in_place(words, i):
                return False  # a clause (he, has, her, son) or a verb (passed): not a street or place
            continue
        if mixed_case and word[0].islower():
            lower_run += 1
            if lower_run >= 3:
                return False  # lower-case prose inside a capitalised address
        else:
            lower_run = 0
    return not (strict and len(words) > 4)


_NUMBER: Final = "0"


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
