"""Normalise text before analysis, keeping a map back to the original offsets.

Three steps, each character-local so that every normalised character knows the
original characters it came from:

1. Unicode NFKC per character: full-width digits and letters become ASCII
   (``１３８`` -> ``138``, ``ｊｏｈｎ`` -> ``john``);
2. zero-width and soft-hyphen characters are removed (they hide numbers and
   words from patterns);
3. look-alike digits inside digit runs become digits (``O7700 9OO123`` ->
   ``07700 900123``; ``l``/``I``/``|`` -> ``1``, ``O``/``o`` -> ``0``).

Recognizers run on :attr:`NormalisedText.text`; :meth:`NormalisedText.to_original`
turns a span back into original offsets, so masks cover the original characters
(including any zero-width characters hidden inside a span).
"""

from __future__ import annotations

import itertools
import json
import re
import string
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Final

from core.errors import ConfigError
from core.pii.zh_convert import to_simplified

ZERO_WIDTH: Final = frozenset("\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e")
_LOOKALIKE: Final = {"O": "0", "o": "0", "l": "1", "I": "1", "|": "1"}
# A run of digits and look-alikes holding at least one real digit and one look-alike,
# not glued to other letters (so words such as "Oslo" or "10lb" are left alone).
# Linear: a run is read once from its start (which digit and which look-alike it holds is
# checked when it is replaced).
_LOOKALIKE_RUN: Final = re.compile(r"(?<![A-Za-z0-9|])[0-9OolI|]{2,}+(?![A-Za-z])")
_NEEDS_WORK: Final = re.compile(r"[^\x00-\x7f]|[0-9][OolI|]|[OolI|][0-9]")


@dataclass(frozen=True, slots=True)
class NormalisedText:
    """Normalised text plus, per normalised character, its original [start, end)."""

    # the texts stay out of the repr: they are customer data (logs, tracebacks)
    original: str = field(repr=False)
    text: str = field(repr=False)
    starts: tuple[int, ...] | None = field(repr=False)  # None: identity mapping
    ends: tuple[int, ...] | None = field(repr=False)
    # same length and offsets: other readings (see :func:`skeleton`)
    variants: tuple[str, ...] = field(default=(), repr=False)

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map a normalised span [start, end) to the original text."""
        if self.starts is None or self.ends is None:
            return start, end
        if end <= start:
            pos = self.starts[start] if start < len(self.starts) else len(self.original)
            return pos, pos
        return self.starts[start], self.ends[end - 1]


def _digits(match: re.Match[str]) -> str:
    run = match.group(0)
    if run.isdigit() or not any(c.isdigit() for c in run):
        return run  # a number, or a word of look-alikes only (Il, Oo)
    return "".join(_LOOKALIKE.get(c, c) for c in run)


def is_normal(text: str) -> bool:
    """Whether :func:`normalise` leaves ``text`` as it is (plain ASCII with no look-alike digit runs)."""
    return _NEEDS_WORK.search(text) is None


def normalise(text: str) -> NormalisedText:
    if not _NEEDS_WORK.search(text):
        return NormalisedText(original=text, text=text, starts=None, ends=None)
    chars: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for i, ch in enumerate(text):
        if ch in ZERO_WIDTH:
            continue
        out = ch if ch.isascii() else unicodedata.normalize("NFKC", ch)
        for sub in out:
            chars.append(sub)
            starts.append(i)
            ends.append(i + 1)
    joined = "".join(chars)
    fixed = _LOOKALIKE_RUN.sub(_digits, joined)
    return NormalisedText(original=text, text=fixed, starts=tuple(starts), ends=tuple(ends))


# -- the word view: one skeleton for every sensitive-term check ------------------------------------------

_APOSTROPHES: Final = frozenset("\u2018\u2019\u02bc\u2032\u0060\u00b4\uff07")
_SEPARATORS: Final = frozenset(
    " \t\n\r\f\v\u00a0_.-\u00b7\u2010\u2011\u2012\u2013\u2014\u2015\u2022\u2027\u2043\u30fb"
)
_SPACES: Final = frozenset(" \t\n\r\f\v\u00a0\u2028\u2029")
#: Leetspeak: digits and symbols read as letters inside a word (``k1lled``, ``c@ncer``, ``cr@sh``).
LEET: Final = {
    "0": "o",
    "1": "i",
    "3": "e",
    "4": "a",
    "5": "s",
    "7": "t",
    "@": "a",
    "$": "s",
    "!": "i",
    "|": "l",
}
_LEET_SYMBOLS: Final = frozenset("@$!|")
_LEET_LETTERS: Final = frozenset("@$")
_LEET_ALT: Final = {"1": "l", "!": "l", "|": "i"}
_MIN_LEET_WORD: Final = 4  # shorter tokens (postcode halves such as 1LL, unit numbers such as 4B) are codes
_MIN_SPELLED_RUN: Final = 3  # k i l l e d, R.I.P. - not two initials
# Plain ASCII needing none of the steps below: lower-casing is the whole skeleton.
_PUNCTUATION: Final = string.punctuation
_PUNCT_RUN: Final = re.compile(r"[.\-@$!|]+")
_SKELETON_WORK: Final = re.compile(
    r"[^\x20-\x7e]|[_`\t\n\r\f\v]|\s\s|[A-Za-z][.\-]++[A-Za-z]|[A-Za-z][@$!|][A-Za-z]"
    r"|(?<![A-Za-z0-9])[A-Za-z0-9](?:[ .\-]{1,3}[A-Za-z0-9](?![A-Za-z0-9])){2}"
)
# A word that leetspeak could change (letters and 0 1 3 4 5 7 together): checked token by token.
# The outward half of a postcode (SW1A, EC1A, CF10) is a code, never leetspeak.
_LEET_CHARS: Final = "013457@$!|"
_LEET_WORD: Final = re.compile(r"[a-z'013457@$!|]++")
_LEET_CHAR: Final = re.compile(r"[013457@$!|]")
_TWO_LETTERS: Final = re.compile(r"[A-Za-z][^A-Za-z]*+[A-Za-z]")
# Lower-case ASCII runs that may hold a word (see :func:`_ascii_words`) of four characters or more
# with a leetspeak character; read once from their start (the look-ahead stops at the run's end).
_ASCII_LEET_RUN: Final = re.compile(
    r"(?<![a-z0-9'@$!|])(?=[a-z0-9'@$!|]{4})(?=[a-z0-9'@$!|]*?[013457@$!|])[a-z0-9'@$!|]++"
)
_WORD_SYMBOL: Final = re.compile(r"[@$!|]")
_POSTCODE_SHAPE: Final = re.compile(r"[A-Za-z]{1,2}[0-9][A-Za-z0-9]?")


def _postcode(word: str, written: str | None = None) -> bool:
    """Whether ``word`` (its skeleton; ``written``: as written, when that differs) may be the
    outward half of a postcode (SW1A, EC1A, CF10), never leetspeak: of that shape, and not written
    in mixed case (a postcode is written in capitals, or all in small letters by a careless hand;
    Re5t, Aw4y, Ja1l are words)."""
    if _POSTCODE_SHAPE.fullmatch(word) is None:
        return False
    letters = [c for c in (word if written is None else written) if c.isalpha()]
    return not (any(c.isupper() for c in letters) and any(c.islower() for c in letters))


_LEET_RUN: Final = re.compile(
    r"(?<![A-Za-z0-9@$!|'])(?=[A-Za-z013457@$!|']{4})[A-Za-z']*+[013457@$!|][A-Za-z013457@$!|']*+"
    r"(?![A-Za-z0-9@$!|'])"
)
# What the word steps (:func:`_words`) act on: separators, leetspeak symbols, ASCII letters.
_WORDS_WORK: Final = re.compile(r"[\s_.\-\u00b7\u2010-\u2015\u2022\u2027\u2043\u30fb@$!|a-z]")
# Runs of separators that change anything (a single space between words does not).
_ASCII_SEPARATORS: Final = re.compile(r"[ \t\n\r\f\v_.\-]{2,}|[\t\n\r\f\v_.\-]")
_ASCII_SPACE_RUNS: Final = re.compile(r"[ \t\n\r\f\v]+|[^ \t\n\r\f\v]+")
_ASCII_SPACE_RUN: Final = re.compile(r"[ \t\n\r\f\v]+")
_SPELLED_HINT: Final = re.compile(r"(?<![a-z0-9])[a-z0-9](?:[ ._\-]{1,3}[a-z0-9](?![a-z0-9])){2}")
_CASE_CHANGE: Final = re.compile(r"[a-z][A-Z]|[A-Z][A-Z][a-z]|[0-9][A-Z][a-z]")
# Printable ASCII that the skeleton may change besides its case (see :func:`_needs_work`), one
# search, linear (every repeat is possessive and its class is disjoint from what follows it):
# an underscore, a backquote or two spaces; punctuation between two letters (Daughter.Killed,
# self-harm, c@ncer); a word with punctuation inside it (a.b, c0@x.com: the full rule decides);
# three one-character words in a row, words of punctuation only between them (k i l l e d, R . I . P).
_P: Final = r"[!-/:-@\[-`{-~]"
_ONE_CHAR_WORD: Final = rf"{_P}*+[A-Za-z0-9]{_P}*+(?![^ ])"
_ASCII_WORK: Final = re.compile(
    r"[_`]|  |[A-Za-z][.\-@$!|]++[A-Za-z]"
    rf"|[A-Za-z0-9]'*+[!-&(-/:-@\[-`{{-~]{_P}*+[A-Za-z0-9]"
    rf"|(?<![^ ]){_ONE_CHAR_WORD}(?: (?:{_P}++ )*+{_ONE_CHAR_WORD}){{2}}"
)
_CJK_CHAR: Final = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
_DIGITS: Final = frozenset("0123456789")


def _needs_work(text: str) -> bool:
    """Whether :func:`skeleton` may do more than lower-case ``text`` (False: it surely does not).

    True whenever :data:`_SKELETON_WORK` or :func:`_leet_word` would say so (a superset of the
    steps below), found with one regular expression: most lines of a letter and most names need
    nothing but lower case.
    """
    if not text.isascii() or not text.isprintable():
        return True  # look-alikes, invisible characters, tabs and line breaks
    if _ASCII_WORK.search(text) is not None:
        return True
    return _leet_word(text)


# What :func:`_ascii_profile` knows of one space-separated word of printable ASCII.
_TOKEN_PLAIN: Final = 0
_TOKEN_ONE_CHAR: Final = 1  # one letter or digit, punctuation around it (k, R., (a)
_TOKEN_PUNCT: Final = 2  # punctuation only (a lone dot or dash between spelled-out letters)
_TOKEN_WORK: Final = 4  # the skeleton changes more than its case (_ASCII_WORK or leetspeak inside it)
_TOKEN_CASE: Final = 8  # a case change inside it (DaughterKilled, ADivorce)
_ONE_CHAR_TOKEN: Final = re.compile(rf"(?<!{_P}){_P}*+[A-Za-z0-9]{_P}*+")  # no restart inside a run: linear
_PUNCT_TOKEN: Final = re.compile(rf"{_P}++")
TOKEN_CACHE_SIZE: Final = 1024


@lru_cache(maxsize=TOKEN_CACHE_SIZE)
def _token_profile(token: str) -> int:
    """The :data:`_TOKEN_PLAIN` ... flags of one word (printable ASCII without spaces), memoised:
    the words of names and addresses (Street, Road, London, given names) recur from row to row."""
    if token.isdigit():  # a number (ASCII here): no leetspeak without two letters, no case
        return _TOKEN_ONE_CHAR if len(token) == 1 else _TOKEN_PLAIN
    flags = _TOKEN_PLAIN
    if _ONE_CHAR_TOKEN.fullmatch(token) is not None:
        flags |= _TOKEN_ONE_CHAR
    elif _PUNCT_TOKEN.fullmatch(token) is not None:
        flags |= _TOKEN_PUNCT
    if _ASCII_WORK.search(token) is not None or _leet_word(token):
        flags |= _TOKEN_WORK
    if not (token.islower() or token.isupper()) and _CASE_CHANGE.search(token) is not None:
        flags |= _TOKEN_CASE
    return flags


_WORD_CACHES: list[Callable[[], None]] = []


def register_word_cache(clear: Callable[[], None]) -> None:
    """Have :func:`forget_words` call ``clear`` too (another module's memo of words, such as the
    shape check's readings of name and address words)."""
    if clear not in _WORD_CACHES:
        _WORD_CACHES.append(clear)


def forget_words() -> None:
    """Drop the memoised word profiles (words of the names and addresses seen).  A bulk import and
    an export run call this when they end, so a long-running process keeps no words of past inputs
    beyond the run that needed them."""
    _token_profile.cache_clear()
    _word_views.cache_clear()
    _word_split_views.cache_clear()
    for clear in _WORD_CACHES:
        clear()


@contextmanager
def forgetting_words() -> Iterator[None]:
    """Run a bulk job, then :func:`forget_words` (also when it fails)."""
    try:
        yield
    finally:
        forget_words()


def _ascii_profile(text: str) -> tuple[bool, bool]:
    """``(_needs_work(text), _has_case_change(text))`` for printable ASCII, word by word.

    Exactly those two answers, cheaper for the names and addresses of an import: every
    alternative of :data:`_ASCII_WORK` but two, every leetspeak run (:func:`_leet_word`) and every
    case change lies inside one space-separated word, so the words are looked at one at a time
    (memoised, :func:`_token_profile`).  The other two are two spaces in a row, and three
    one-character words in a row with only words of punctuation between them (``k i l l e d``,
    ``R . I . P``), counted here.
    """
    if "  " in text:
        return True, _has_case_change(text)
    profiles = list(map(_token_profile, text.strip(" ").split(" ")))  # no empty word: one space apart
    seen = 0
    for flags in set(profiles):  # a handful of distinct profiles
        seen |= flags
    work = bool(seen & _TOKEN_WORK)
    if not work and seen & _TOKEN_ONE_CHAR:
        run = 0
        for flags in profiles:
            if flags & _TOKEN_ONE_CHAR:
                run += 1
                if run >= _MIN_SPELLED_RUN:
                    work = True
                    break
            elif not flags & _TOKEN_PUNCT:
                run = 0
    return work, bool(seen & _TOKEN_CASE)


def _spelled(text: str) -> bool:
    """Whether three one-character words may follow each other (``k i l l e d``): a superset."""
    run = 0
    for word in text.split(" "):
        core = word.strip(_PUNCTUATION)
        if not core:
            continue  # "k . i": a lone dot or hyphen between the letters
        if len(core) == 1:
            run += 1
            if run >= _MIN_SPELLED_RUN:
                return True
        elif core.isalnum() or core.replace("'", "").isalnum():
            run = 0
        else:
            return True  # "a.b", "a(b": punctuation inside a word, the full rule decides
    return False


def _leet_word(text: str) -> bool:
    """Whether a word of ``text`` may be read as leetspeak (see :func:`skeleton`).

    A superset of the full skeleton's rule: a word it folds consists only of letters,
    ``0 1 3 4 5 7 @ $ ! |`` and apostrophes, has four characters, two letters and one of
    those digits or symbols, and touches no other letter or digit.
    """
    if _LEET_CHAR.search(text) is None:
        return False
    for run in _LEET_RUN.finditer(text):
        word = run.group(0)
        if _TWO_LETTERS.search(word) is not None and not _postcode(word):
            return True
    return False


def _is_cjk(ch: str) -> bool:
    return _CJK_CHAR.match(ch) is not None


@lru_cache(maxsize=1)
def _confusable_map() -> dict[str, str]:
    """Look-alike characters -> their Latin (or Han) prototype, from the UTS #39 confusables data.

    The data is read from the ``confusable-homoglyphs`` package (its ``confusables.json`` is
    generated from Unicode's ``confusables.txt``); nothing is typed here.  Only mappings onto
    one ASCII letter or one CJK ideograph are kept: the skeleton is for matching words.
    """
    try:
        from confusable_homoglyphs import confusables as _conf  # type: ignore[import-untyped]

        path = Path(_conf.__file__).with_name("confusables.json")
        data: dict[str, list[dict[str, str]]] = json.loads(path.read_text(encoding="utf-8"))
    except (ImportError, OSError, ValueError) as exc:
        raise ConfigError(
            "the confusables data (package confusable-homoglyphs) is missing or damaged"
        ) from exc
    out: dict[str, str] = {}
    same_case: set[str] = set()

    def put(glyph: str, proto: str) -> None:
        # Capital look-alikes go to capitals (Greek Ι -> I, not l), small ones to small letters.
        fits = glyph.isupper() == proto.isupper() or not proto.isascii()
        if glyph.isupper() and proto == "l":
            proto, fits = "I", True  # a capital vertical stroke reads as I
        if glyph not in out or (fits and glyph not in same_case):
            out[glyph] = proto.casefold()
            if fits:
                same_case.add(glyph)

    def target(ch: str) -> bool:
        return (ch.isascii() and ch.isalpha()) or _is_cjk(ch)

    for key, entries in data.items():
        if len(key) != 1:
            continue
        glyphs = [e["c"] for e in entries if len(e.get("c", "")) == 1]
        if target(key):
            for glyph in glyphs:
                if not glyph.isascii() and not target(glyph):
                    put(glyph, key)
        elif not key.isascii():
            for glyph in glyphs:
                if target(glyph):
                    put(key, glyph)
    return out


_SMALL_CAPITAL: Final = "LATIN LETTER SMALL CAPITAL "


def _small_capital(ch: str) -> str | None:
    """The letter a Latin small capital stands for (``ᴅ``, LATIN LETTER SMALL CAPITAL D -> ``d``),
    from its Unicode name: neither NFKD nor the confusables data fold most of them."""
    name = unicodedata.name(ch, "")
    if name.startswith(_SMALL_CAPITAL):
        letter = name[len(_SMALL_CAPITAL) :]
        if len(letter) == 1 and letter.isalpha():
            return letter.lower()
    return None


@lru_cache(maxsize=8192)
def fold_char(ch: str) -> str:
    """One character's skeleton: compatibility-decomposed, marks and invisibles dropped, case-folded,
    look-alikes folded to Latin/Han (``К`` -> ``k``, ``Ａ`` -> ``a``, ``é`` -> ``e``, ``’`` -> ``'``)."""
    if ch.isascii():
        return ch.lower()
    if ch in ZERO_WIDTH or ch in _APOSTROPHES:
        return "" if ch in ZERO_WIDTH else "'"
    category = unicodedata.category(ch)
    if category in ("Cf", "Mn", "Me", "Cc"):
        return ""
    confusables = _confusable_map()
    direct = confusables.get(ch)
    if direct is not None:
        return direct
    small_capital = _small_capital(ch)
    if small_capital is not None:
        return small_capital
    out: list[str] = []
    decomposed = unicodedata.normalize("NFKD", ch)
    if not ch.isspace():
        decomposed = "".join(decomposed.split())  # U+037A is " ͅ": no space inside a word
    for part in decomposed:
        if unicodedata.combining(part) or unicodedata.category(part) in ("Mn", "Me", "Cf"):
            continue
        part = confusables.get(part, part)
        for piece in part.casefold():
            if piece.isascii():
                out.append(piece)
            elif piece in _APOSTROPHES:
                out.append("'")
            else:
                out.append(confusables.get(piece, piece))
    return "".join(out)


def _has_case_change(text: str) -> bool:
    if text.isascii():
        return not (text.islower() or text.isupper()) and _CASE_CHANGE.search(text) is not None
    return any(
        b.isupper() and (a.islower() or ((a.isupper() or a in _DIGITS) and c.islower()))
        for a, b, c in zip(text, text[1:] + " ", text[2:] + "  ", strict=False)
    )


# A lower-case l written for a capital I inside a word in capitals (RlP, KlLLED, SUlClDE): the two
# look the same in many fonts.  A word counts with two capitals or more and no other lower-case
# letter than l ("Il" and "Lloyd" are left alone).  Capitals of any script count, and so does a
# small letter that folds to l, so that ÀlA and AAｌ read as their ASCII twins AlA and AAl do.
# ASCII text is searched for the hint (an l beside a capital) first.
_CAPS_L_HINT: Final = re.compile(r"[A-Z]l|l[A-Z]")
_CAPS_RUN: Final = re.compile(r"(?<![^\W\d_])[^\W\d_]{2,}+(?![^\W\d_])")  # a word starts once: linear


def _l_like(ch: str) -> bool:
    return ch == "l" or (not ch.isascii() and ch.islower() and fold_char(ch) == "l")


def _capital_i(match: re.Match[str]) -> str:
    word = match.group(0)
    small_l = sum(1 for c in word if _l_like(c))
    if not small_l:
        return word
    capitals = sum(1 for c in word if c.isupper())
    if capitals >= 2 and capitals + small_l == len(word):
        return "".join("I" if _l_like(c) else c for c in word)
    return word


# A slash between two letters joins words as a space would (Son/Passed/Away, HIV/AIDS, k/i/l/l/e/d);
# between digits (Flat 2/3) it stays.
_SLASH_BETWEEN_LETTERS: Final = re.compile(r"(?<=[^\W\d_])/(?=[^\W\d_])")


def first_reading(text: str) -> str:
    """``text`` with a slash between two letters read as a space (one character for one)."""
    if "/" in text:
        return _SLASH_BETWEEN_LETTERS.sub(" ", text)
    return text


def capitals_reading(text: str) -> str:
    """``text`` with each ``l`` of a word in capitals read as ``I`` (one character for one).

    A second reading, never the only one: ``MUSlIM`` is MUSLIM with one letter in the wrong case,
    ``RlP`` is RIP with an l for an I; both are read."""
    if text.isascii() and _CAPS_L_HINT.search(text) is None:
        return text
    return _CAPS_RUN.sub(_capital_i, text)


def _with_capitals_reading(text: str, read: Callable[[str], tuple[str, ...]]) -> tuple[str, ...]:
    """``read(text)``, then ``read`` of :func:`capitals_reading` of ``text`` when that differs."""
    caps = capitals_reading(text)
    return read(text) if caps == text else read(text) + read(caps)


def skeletons(text: str) -> tuple[NormalisedText, ...]:
    """The skeleton of ``text``, and a second one with glued words split at case changes
    (``DaughterKilledInCarCrash``, ``ADivorce``) when ``text`` has any: random capitals
    (``DiVoRcE``) must not split a word, so both readings are matched; then the same for the
    text with each ``l`` of a word in capitals read as ``I`` (:func:`capitals_reading`), when
    that differs."""
    out = _skeletons(text)
    caps = capitals_reading(text)
    if caps == text:
        return out
    return out + tuple(replace(norm, original=text) for norm in _skeletons(caps))


def _skeletons(text: str) -> tuple[NormalisedText, ...]:
    """:func:`skeletons` without the capitals reading."""
    read = first_reading(text)
    if read != text:
        return tuple(replace(norm, original=text) for norm in _skeletons(read))
    if text.isascii() and text.isprintable():  # most names, addresses and lines of a letter
        work, case = _ascii_profile(text)
        plain = _full_skeleton(text) if work else NormalisedText(text, text.lower(), None, None)
    else:
        plain, case = _full_skeleton(text), _has_case_change(text)
    if not case:
        return (plain,)
    return plain, skeleton(text, split_case=True)


def skeleton_texts(text: str) -> tuple[str, ...]:
    """The texts of :func:`skeletons` and their variants, in that order, without the offsets:
    what :func:`skeleton_views` returns, by way of the whole text's skeletons (no memo of words
    beyond :func:`_token_profile`).  Plain ASCII that needs nothing but lower case (most names
    and addresses) is lower-cased and nothing else is built."""
    return _with_capitals_reading(text, _skeleton_texts)


def _skeleton_texts(text: str) -> tuple[str, ...]:
    text = first_reading(text)
    if text.isascii() and text.isprintable():
        work, case = _ascii_profile(text)
        if not work and not case:
            return (text.lower(),)
    return tuple(view for norm in _skeletons(text) for view in (norm.text, *norm.variants))


#: Memoised word views (:func:`skeleton_views`): the words of a template's lines, of street names
#: and towns recur in every letter.  Bounded, and dropped by :func:`forget_words` after a run.
VIEW_CACHE_SIZE: Final = 256
# A view of a word that starts or ends with a one-character word (after separators only): two such
# edges side by side may be part of a spelled-out run (k i l l e d) that crosses the space.
# A superset: a leetspeak symbol next to the letter is counted as no letter (it may be none).
_EDGE_START: Final = re.compile(r"\A[ ._\-]*+[a-z0-9'@$!|](?![a-z0-9'])")  # anchored: linear
_EDGE_END: Final = re.compile(r"(?<![a-z0-9'])[a-z0-9'@$!|][ ._\-]*+$")
_ONLY_SEPARATORS: Final = re.compile(r"[ ._\-]*+")
_EDGE_IN: Final = 1
_EDGE_OUT: Final = 2
_EDGE_ALL: Final = 4  # nothing but separators (a lone dash): a spelled-out run may pass over it


@dataclass(frozen=True, slots=True)
class _WordViews:
    """The skeleton views of one space-free word of printable ASCII (see :func:`skeleton_views`)."""

    plain: str = field(repr=False)
    plain_alt: str | None = field(repr=False)  # the other leetspeak reading, when there is one
    edges: int  # _EDGE_* of the plain view
    case: bool  # a case change inside the word: the line gets a split-case reading too
    leet: int = 0  # _LEET_LONG, _LEET_SHORT: what the word may hold (see _skeleton_views)


def _edges(*views: str) -> int:
    """The _EDGE_* flags of a word, from the word as written (lower case) and from its view (where
    spelled-out letters are joined already and case changes may have split it)."""
    if all(_ONLY_SEPARATORS.fullmatch(view) is not None for view in views):
        return _EDGE_ALL
    edges = 0
    for view in views:
        if _EDGE_START.match(view) is not None:
            edges |= _EDGE_IN
        if _EDGE_END.search(view) is not None:
            edges |= _EDGE_OUT
    return edges


_LEET_LONG: Final = 1  # a word that may be read as leetspeak (:func:`_leet_word`, a superset)
_LEET_SHORT: Final = 2  # a short word read as leetspeak beside such a word (:func:`_fold_short_leet`)


def _leet_flags(word: str) -> int:
    flags = _LEET_LONG if _leet_word(word) else 0
    if _SHORT_LEET.search(word.lower()) is not None:
        flags |= _LEET_SHORT
    return flags


@lru_cache(maxsize=VIEW_CACHE_SIZE)
def _word_views(word: str) -> _WordViews:
    norm = skeleton(word)
    case = not (word.islower() or word.isupper()) and _CASE_CHANGE.search(word) is not None
    edges = _edges(word.lower(), norm.text)
    return _WordViews(norm.text, norm.variants[0] if norm.variants else None, edges, case, _leet_flags(word))


# Where the split-case skeleton puts a space: a lower-case letter before a capital, before the
# last capital of an acronym that starts a word (ADivorce), and before a capitalised word glued to a
# number (Stage4Cancer).
_CASE_SPLIT: Final = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z0-9])(?=[A-Z][a-z])")


@lru_cache(maxsize=VIEW_CACHE_SIZE)
def _word_split_views(word: str) -> _WordViews:
    norm = skeleton(word, split_case=True)
    edges = _edges(_CASE_SPLIT.sub(" ", word).lower(), norm.text)
    return _WordViews(norm.text, norm.variants[0] if norm.variants else None, edges, True)


def _joined(words: list[_WordViews]) -> tuple[str, ...] | None:
    """The views of words joined by single spaces, or None when a spelled-out run may cross a space."""
    last_out = alt = False
    for word in words:
        edges = word.edges
        if edges:
            if edges & _EDGE_ALL:
                continue  # a spelled-out run may pass over it: keep what came before
            if last_out and edges & _EDGE_IN:
                return None
            last_out = bool(edges & _EDGE_OUT)
        else:
            last_out = False
        if word.plain_alt is not None:
            alt = True
    text = " ".join([w.plain for w in words])
    if alt:
        return text, " ".join([w.plain if w.plain_alt is None else w.plain_alt for w in words])
    return (text,)


def spelled_edges(text: str) -> tuple[bool, bool]:
    """Whether ``text`` may begin, and whether it may end, with a spelled-out letter (``k i l``):
    a superset.  Two texts read one after the other (two lines of a letter) join such runs across
    the break, which reading each text's skeleton alone cannot see."""
    stripped = text.strip()
    if not stripped:
        return False, False
    first = stripped.split(None, 1)[0]
    last = stripped.rsplit(None, 1)[-1]
    return bool(_word_edges(first, start=True) & _EDGE_IN), bool(_word_edges(last, start=False) & _EDGE_OUT)


_EDGE_CHARS: Final = 6  # folded characters read at a word's edge (a letter, what follows, separators)


def _word_edges(word: str, *, start: bool) -> int:
    """:func:`_edges` of one word: from the memoised views for ASCII; otherwise from the word's
    first (or last) characters folded one by one (look-alikes to Latin, invisibles dropped), as
    written and split at case changes, before spelled-out runs are joined."""
    if word.isascii():
        views = _word_views(word)
        return views.edges | (_word_split_views(word).edges if views.case else 0)
    edge: list[str] = []
    split: list[str] = []
    chars = word if start else word[::-1]
    prev = ""
    for ch in chars:
        folded = fold_char(ch)
        if not folded:
            continue
        # a case change splits the word there (lower then upper, read in either direction)
        if prev and prev.isalpha() and ch.isalpha() and (prev.islower() != ch.islower()):
            split.append(" ")
        prev = ch
        edge.append(folded if start else folded[::-1])
        split.append(folded if start else folded[::-1])
        if len(edge) >= _EDGE_CHARS:
            break
    if start:
        return _edges("".join(edge), "".join(split))
    return _edges("".join(reversed(edge)), "".join(reversed(split)))


def skeleton_views(text: str) -> tuple[str, ...]:
    """The texts that a term check reads for ``text``: each skeleton of :func:`skeletons` and its
    variants, in that order, without the offsets (for checks that need only what matched).

    For printable ASCII with single spaces between words (most lines of a letter) the views are put
    together from memoised views of the words: every step of the skeleton but one stays inside a
    word (folding, separators inside a word, leetspeak, case splitting), and the one that does not
    (three or more spelled-out letters, ``k i l l e d``) is detected from the words' edges and sent
    down the full path.  So a template's words are folded once per run, not once per letter.  Other
    text takes the full path.  A property test compares the two.
    """
    return _with_capitals_reading(text, _skeleton_views)


def _skeleton_views(text: str) -> tuple[str, ...]:
    """:func:`skeleton_views` without the capitals reading."""
    if text.isascii() and text.isprintable() and "  " not in text:
        tokens = text.split(" ")
        words = list(map(_word_views, tokens))
        plain = _joined(words)
        leet = [word.leet for word in words if word.leet]
        if leet and any(f & _LEET_LONG for f in leet) and any(f & _LEET_SHORT for f in leet):
            plain = None  # short words read as leetspeak beside a long one: the whole line's reading
        if plain is not None:
            for word in words:
                if word.case:  # a case change: the split-case reading too
                    split = _joined(list(map(_word_split_views, tokens)))
                    if split is None:
                        break
                    return plain + split
            else:
                return plain
    return tuple(view for norm in _skeletons(text) for view in (norm.text, *norm.variants))


def skeleton(text: str, *, split_case: bool = False) -> NormalisedText:
    """The word-matching view of ``text`` that every sensitive-term check uses, with offsets mapped back.

    Per character: NFKD, combining marks, zero-width and soft-hyphen characters dropped, case
    folded, UTS #39 look-alikes folded (:func:`fold_char`); Traditional Chinese converted to
    Simplified (:func:`core.pii.zh_convert.to_simplified`, OpenCC ``t2s``).  Then, keeping word
    boundaries: a lower-to-upper case change splits a glued word (``DaughterKilled``); runs of
    whitespace, line breaks, underscores, dots and hyphens become one space (nothing between two
    Chinese characters; kept as they are between two digits, as in ``3.5`` or ``0161-496``);
    runs of three or more single letters join (``k i l l e d``, ``R.I.P.``); leetspeak digits and
    symbols inside a word of at least four characters with two letters read as letters
    (``K1lled``, ``c@ncer``); first of all, a slash between two letters reads as a space
    (:func:`first_reading`).  Innocent words are never glued together.  Linear in the length.

    :attr:`NormalisedText.variants` holds the same text with the other reading of ambiguous
    leetspeak (``1`` as ``l``: ``ki11ed``), when there is one.
    """
    read = first_reading(text)
    if read != text:
        return replace(skeleton(read, split_case=split_case), original=text)
    if not split_case and not _needs_work(text):
        return NormalisedText(original=text, text=text.lower(), starts=None, ends=None)
    return _full_skeleton(text, split_case=split_case)


def _full_skeleton(text: str, *, split_case: bool = False) -> NormalisedText:
    """:func:`skeleton` without its fast path (tests compare the two)."""
    if not split_case and text.isascii():
        return _ascii_skeleton(text)
    return _char_skeleton(text, split_case=split_case)


def _char_skeleton(text: str, *, split_case: bool = False) -> NormalisedText:
    """The skeleton character by character (any text)."""
    chars: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    prev_lower = prev_upper = prev_digit = False
    for i, ch in enumerate(text):
        folded = fold_char(ch)
        if not folded:
            continue
        acronym_end = (
            (prev_upper or prev_digit)
            and ch.isupper()
            and i + 1 < len(text)
            and text[i + 1].islower()
            and text[i + 1].isalpha()
        )
        if split_case and (prev_lower or acronym_end) and ch.isupper() and ch.isalpha():
            chars.append(" ")
            starts.append(i)
            ends.append(i)
        prev_lower = ch.islower()
        prev_upper = ch.isupper()
        prev_digit = ch in _DIGITS
        for sub in folded:
            chars.append(sub)
            starts.append(i)
            ends.append(i + 1)
    folded = "".join(chars)
    if _CJK_CHAR.search(folded) is not None:
        simplified = to_simplified(folded)
        if len(simplified) == len(chars):
            chars, folded = list(simplified), simplified
    if _WORDS_WORK.search(folded) is None:  # nothing for the word steps (most Chinese text)
        return NormalisedText(original=text, text=folded, starts=tuple(starts), ends=tuple(ends))
    return _words(text, chars, starts, ends)


def _words(original: str, chars: list[str], starts: list[int], ends: list[int]) -> NormalisedText:
    """Separator runs, spelled-out letters and leetspeak (see :func:`skeleton`)."""
    out_c, out_s, out_e = _separator_runs(chars, starts, ends)
    return _word_tokens(original, out_c, out_s, out_e)


def _ascii_skeleton(text: str) -> NormalisedText:
    """:func:`_full_skeleton` for ASCII text without case splitting: the same result, found with
    regular expressions instead of character by character (most letters and addresses)."""
    low = text.lower()
    size = len(low)
    # (start, end, replacement, whole run -> one space) for every separator run that changes
    edits: list[tuple[int, int, str, bool]] = []
    for run in _ASCII_SEPARATORS.finditer(low):
        a, b = run.span()
        before = low[a - 1] if a > 0 else ""
        after = low[b] if b < size else ""
        chunk = low[a:b]
        if chunk.isspace() or (not any(c in _SPACES for c in chunk) and before.isalpha() and after.isalpha()):
            edits.append((a, b, " ", True))  # spaces, a line break; Daughter_Killed, self-harm
        else:  # 3.5, "end. Next", " - ": punctuation stays, spaces inside collapse
            edits.append((a, b, _ASCII_SPACE_RUN.sub(" ", chunk), False))
    if all(b - a == len(new) for a, b, new, _whole in edits):  # one character for one: offsets stay
        chars = list(low)
        for a, b, new, _whole in edits:
            chars[a:b] = new
        joined = "".join(chars)
        if _SPELLED_HINT.search(joined) is not None:
            return _word_tokens(text, chars, list(range(size)), list(range(1, size + 1)))
        return _ascii_leet(text, joined, None, None)
    out: list[str] = []
    out_s: list[int] = []
    out_e: list[int] = []
    pos = 0
    for a, b, _new, whole in edits:
        out.append(low[pos:a])
        out_s.extend(range(pos, a))
        out_e.extend(range(pos + 1, a + 1))
        pos = b
        if whole:
            out.append(" ")
            out_s.append(a)
            out_e.append(b)
            continue
        for piece in _ASCII_SPACE_RUNS.finditer(low, a, b):
            p, q = piece.span()
            if low[p] in _SPACES:
                out.append(" ")
                out_s.append(p)
                out_e.append(q)
            else:
                out.append(low[p:q])
                out_s.extend(range(p, q))
                out_e.extend(range(p + 1, q + 1))
    out.append(low[pos:])
    out_s.extend(range(pos, size))
    out_e.extend(range(pos + 1, size + 1))
    joined = "".join(out)
    if _SPELLED_HINT.search(joined) is not None:
        return _word_tokens(text, list(joined), out_s, out_e)
    return _ascii_leet(text, joined, tuple(out_s), tuple(out_e))


# One character inside a word, as :func:`_ascii_in_word` decides (``@``/``$`` after a letter, a digit,
# one of them, a space, an opening bracket or a quote, or at the start, and before a letter, a digit
# or one of them; ``!``/``|`` between letters or digits), in lower-case ASCII.
_ASCII_WORD: Final = re.compile(
    r"(?:[a-z0-9']|(?:(?<=[a-z0-9@$ ('\"])|(?<![\s\S]))[@$](?=[a-z0-9@$])|(?<=[a-z0-9])[!|](?=[a-z0-9]))++"
)


def _leet_enough(letters: int, leet: int) -> bool:
    """Whether a word of ``letters`` letters and ``leet`` leetspeak characters is read as leetspeak:
    two letters or more, and at most two leetspeak characters for each (``pr0b4710n``,
    ``p4553d``, ``4774ck``; a code of two letters among five digits is none)."""
    return letters >= 2 and leet <= 2 * letters


# A short word of letters and leetspeak digits (1n, 0f, u5, d4d, c0n, l057): read as leetspeak only
# in a text where a longer word is (see _fold_short_leet).  Each lookahead reads at most five
# characters from a word's start: linear.
_SHORT_LEET: Final = re.compile(
    r"(?<![a-z0-9'@$!|])(?=[a-z0-9]{2,5}+(?![a-z0-9'@$!|]))(?=[0-9]*+[a-z])(?=[a-z]*+[013457])"
    r"[a-z013457]{2,5}+(?![a-z0-9'@$!|])"
)


def _fold_short_leet(text: str) -> str:
    """``text`` (a skeleton where a word of four characters or more was read as leetspeak) with its
    short words of letters and leetspeak digits read as letters too (``1n m3m0ry 0f``: in memory
    of; ``l057 h3r 50n``: lost her son), one character for one.  Alone, such a word is a code
    (4B, 1st, u5) and stays as written."""
    return _SHORT_LEET.sub(_short_leet_word, text)


def _short_leet_word(match: re.Match[str]) -> str:
    word = match.group(0)
    if word.rstrip("0123456789").isalpha() and _trailing_digits(word, 0, len(word)):
        return word  # letters and then a number (ccj4, debt4): the second reading keeps it so
    return "".join(LEET.get(c, c) for c in word)


def _trailing_digits(word: str, a: int, b: int) -> range:
    """The positions of the digits that end ``word[a:b]`` after at least two letters
    (``Lesbian4``, ``InDebt22``): a number glued to a word, which the second reading
    (:attr:`NormalisedText.variants`) keeps as digits, so the word stands alone (``lesbian4``)."""
    end = b
    while end > a and word[end - 1].isdigit():
        end -= 1
    if end == b or sum(ch.isalpha() for ch in word[a:end]) < 2:
        return range(0)
    return range(end, b)


def _ascii_words(low: str, a: int, b: int) -> Iterator[tuple[int, int]]:
    """The words in ``low[a:b]``, a run of :data:`_ASCII_LEET_RUN`, as :func:`_word_tokens` bounds them.

    Letters, digits and apostrophes are always inside a word (``in_word``), other characters
    but ``@ $ ! |`` never; those four are decided by their neighbours.
    """
    if _WORD_SYMBOL.search(low, a, b) is None:
        yield a, b
        return
    for word in _ASCII_WORD.finditer(low, a, b):  # the run ends before a character that is no word's
        yield word.span()


def _ascii_in_word(low: str, k: int, size: int) -> bool:
    c = low[k]
    if c not in _LEET_SYMBOLS:
        return True  # a letter, a digit or an apostrophe (the run holds nothing else)
    before = low[k - 1] if k > 0 else " "
    after = low[k + 1] if k + 1 < size else " "
    if c in _LEET_LETTERS:
        return (before.isalnum() or before in _LEET_LETTERS or before in " ('\"") and (
            after.isalnum() or after in _LEET_LETTERS
        )
    return before.isalnum() and after.isalnum()


def _ascii_leet(
    original: str, joined: str, starts: tuple[int, ...] | None, ends: tuple[int, ...] | None
) -> NormalisedText:
    """:func:`_word_tokens` for lower-case ASCII without spelled-out runs: leetspeak only.

    The same words (:func:`_ascii_words`: the characters ``_word_tokens`` counts as inside a
    word), the same rule, found with a regular expression and folded one character for one, so
    the offsets stay as they are.  Most lines never get here (:func:`_leet_word` is False).
    """
    chars: list[str] | None = None
    alt_at: list[tuple[int, str]] = []
    for run in _ASCII_LEET_RUN.finditer(joined):
        for a, b in _ascii_words(joined, *run.span()):
            if b - a < _MIN_LEET_WORD:
                continue
            word = joined[a:b]
            if _LEET_WORD.fullmatch(word) is None:
                continue  # a digit or symbol that is no leetspeak (2, 6, 8, 9)
            leet = len(_LEET_CHAR.findall(word))
            letters = len(word) - leet - word.count("'")
            written = original[a:b] if starts is None or ends is None else original[starts[a] : ends[b - 1]]
            if not leet or not _leet_enough(letters, leet) or _postcode(word, written):
                continue
            if chars is None:
                chars = list(joined)
            for k in range(a, b):
                c = joined[k]
                if c in LEET:
                    if c in _LEET_ALT:
                        alt_at.append((k, _LEET_ALT[c]))
                    chars[k] = LEET[c]
            alt_at.extend((k, joined[k]) for k in _trailing_digits(joined, a, b))
    if chars is None:
        return NormalisedText(original=original, text=joined, starts=starts, ends=ends)
    text = _fold_short_leet("".join(chars))
    alts: tuple[str, ...] = ()
    if alt_at:
        for k, c in alt_at:
            chars[k] = c
        alts = (_fold_short_leet("".join(chars)),)
    return NormalisedText(original=original, text=text, starts=starts, ends=ends, variants=alts)


def _separator_runs(
    chars: list[str], starts: list[int], ends: list[int]
) -> tuple[list[str], list[int], list[int]]:
    """Step 1 of :func:`_words`: runs of separators."""
    n = len(chars)
    out_c: list[str] = []
    out_s: list[int] = []
    out_e: list[int] = []
    i = 0
    while i < n:
        ch = chars[i]
        if ch not in _SEPARATORS:
            out_c.append(ch)
            out_s.append(starts[i])
            out_e.append(ends[i])
            i += 1
            continue
        j = i
        while j < n and chars[j] in _SEPARATORS:
            j += 1
        before = chars[i - 1] if i > 0 else ""
        after = chars[j] if j < n else ""
        run = chars[i:j]
        spaces = [c in _SPACES for c in run]
        if before and after and _is_cjk(before) and _is_cjk(after):
            # Chinese has no spaces, and no dots, middle dots or underscores inside a word either:
            # 车 祸, 车·祸, 车_祸, 车.祸 -> 车祸
            pass
        elif all(spaces):
            if run == [" "]:
                out_c.append(" ")
                out_s.append(starts[i])
                out_e.append(ends[i])
            else:  # several spaces, a line break: one space
                out_c.append(" ")
                out_s.append(starts[i])
                out_e.append(ends[j - 1])
        elif not any(spaces) and _letterish(before) and _letterish(after):
            out_c.append(" ")  # Daughter_Killed, k.i.l.l.e.d, self-harm
            out_s.append(starts[i])
            out_e.append(ends[j - 1])
        else:  # 3.5, "end. Next", " - ": punctuation stays, spaces inside collapse
            k = i
            while k < j:
                if chars[k] in _SPACES:
                    e = k
                    while e < j and chars[e] in _SPACES:
                        e += 1
                    out_c.append(" ")
                    out_s.append(starts[k])
                    out_e.append(ends[e - 1])
                    k = e
                    continue
                out_c.append(chars[k])
                out_s.append(starts[k])
                out_e.append(ends[k])
                k += 1
        i = j
    return out_c, out_s, out_e


def _word_tokens(original: str, out_c: list[str], out_s: list[int], out_e: list[int]) -> NormalisedText:
    """Step 2 of :func:`_words`: spelled-out runs join, leetspeak folds."""
    m = len(out_c)

    def in_word(k: int) -> bool:
        c = out_c[k]
        if c.isalnum() or c == "'":
            return True
        if c not in _LEET_SYMBOLS:
            return False
        before = out_c[k - 1] if k > 0 else " "
        after = out_c[k + 1] if k + 1 < m else " "
        if c in _LEET_LETTERS:  # @ and $ also start a word (@way, $pr1ng) and come in pairs (p@$sed)
            return (before.isalnum() or before in _LEET_LETTERS or before in " ('\"") and (
                after.isalnum() or after in _LEET_LETTERS
            )
        return before.isalnum() and after.isalnum()

    bounds: list[tuple[int, int]] = []
    i = 0
    while i < m:
        if not in_word(i):
            i += 1
            continue
        j = i
        while j < m and in_word(j):
            j += 1
        bounds.append((i, j))
        i = j
    drop: set[int] = set()
    leet_spans: list[tuple[int, int]] = []
    run_start = 0
    for t in range(len(bounds) + 1):
        letter = t < len(bounds) and _spelled_letter(out_c, bounds[t])
        if letter and (t == run_start or _gap(out_c, bounds[t - 1][1], bounds[t][0])):
            continue
        spelled = bounds[run_start:t]
        if len(spelled) >= _MIN_SPELLED_RUN and sum(out_c[a].isalpha() for a, _b in spelled) >= 2:
            for (_a, prev_end), (a, _b) in itertools.pairwise(spelled):
                drop.update(range(prev_end, a))  # the separators between the letters
            leet_spans.append((spelled[0][0], spelled[-1][1]))
            last = spelled[-1][1]
            if last < m and out_c[last] == "." and (last + 1 == m or out_c[last + 1] == " "):
                drop.add(last)  # the dot closing "R.I.P." or "t.h.e.i.r."
        if t < len(bounds) and bounds[t][1] - bounds[t][0] >= _MIN_LEET_WORD:
            leet_spans.append(bounds[t])  # also right after a spelled-out run: "R.I.P. k1lled"
        # a letter after a gap that is no gap ("J, R I P") starts the next run itself
        run_start = t if letter else t + 1
    variants: list[int] = []
    alt_of: dict[int, str] = {}
    folded = False
    for a, b in leet_spans:
        letters = leet = 0
        for k in range(a, b):
            c = out_c[k]
            if k in drop:
                continue
            if c in LEET:
                leet += 1
            elif c.isascii() and c.isalpha():
                letters += 1
            elif c != "'":
                break
        else:
            written = original[out_s[a] : out_e[b - 1]]
            if leet and _leet_enough(letters, leet) and not _postcode("".join(out_c[a:b]), written):
                folded = True
                kept = [k for k in range(a, b) if k not in drop]
                trailing = set(_trailing_digits("".join(out_c[k] for k in kept), 0, len(kept)))
                for pos, k in enumerate(kept):
                    if out_c[k] in LEET:
                        if pos in trailing:  # the second reading keeps a number glued to a word
                            variants.append(k)
                            alt_of[k] = out_c[k]
                        elif out_c[k] in _LEET_ALT:
                            variants.append(k)
                            alt_of[k] = _LEET_ALT[out_c[k]]
                        out_c[k] = LEET[out_c[k]]
    if drop:
        keep = [k for k in range(m) if k not in drop]
        variant_at = {k: pos for pos, k in enumerate(keep)}
        alt_of = {variant_at[k]: v for k, v in alt_of.items() if k in variant_at}
        variants = [variant_at[k] for k in variants if k in variant_at]
        out_c = [out_c[k] for k in keep]
        out_s = [out_s[k] for k in keep]
        out_e = [out_e[k] for k in keep]
    text = "".join(out_c)
    alts: tuple[str, ...] = ()
    if variants:
        alt = list(out_c)
        for k in variants:
            alt[k] = alt_of[k]
        alts = ("".join(alt),)
    if folded:  # a word was read as leetspeak: so are the short words beside it
        text = _fold_short_leet(text)
        alts = tuple(map(_fold_short_leet, alts))
    return NormalisedText(original=original, text=text, starts=tuple(out_s), ends=tuple(out_e), variants=alts)


def _letterish(ch: str) -> bool:
    return ch.isalpha()


def _gap(chars: list[str], start: int, end: int) -> bool:
    """Whether chars[start:end] is a short run of separators (between two spelled-out letters)."""
    return 1 <= end - start <= 3 and all(chars[k] in _SEPARATORS for k in range(start, end))


def _spelled_letter(chars: list[str], bound: tuple[int, int]) -> bool:
    a, b = bound
    if b - a != 1:
        return False
    c = chars[a]
    return c.isascii() and (c.isalpha() or (c in LEET and c.isdigit()))


def fold_words(text: str) -> str:
    """The skeleton's text alone (for building look-up keys with the same folding)."""
    return skeleton(text).text


def ascii_lookalikes(text: str) -> str:
    """``text`` with every non-ASCII look-alike of an ASCII letter or digit replaced by it, one for one.

    For reading identifiers (e-mail addresses, phone numbers) the way the skeleton reads words:
    a Cyrillic ``а`` or a Greek ``ο`` inside an address is read as ``a`` or ``o`` (UTS #39
    confusables, lower case).  Other characters, and the length, stay as they are.
    """
    if text.isascii():
        return text
    confusables = _confusable_map()
    out: list[str] = []
    for ch in text:
        if ch.isascii():
            out.append(ch)
            continue
        proto = confusables.get(ch, ch)
        out.append(proto if len(proto) == 1 and proto.isascii() and proto.isalnum() else ch)
    return "".join(out)
