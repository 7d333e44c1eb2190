"""The ASCII twin of a text: every character that the skeleton folds to one ASCII letter, replaced by it.

The word checks (:func:`core.pii.normaliser.skeleton`, the sensitive-term
prefilter, the name and address shape) take a fast path for ASCII text and a
character-by-character one for anything else, about twenty times slower.  Most
non-ASCII names and addresses are Latin script with accents (Zoë, Müller,
Łódź, Ciechanów): the skeleton folds each accented letter to one ASCII letter
(:func:`~core.pii.normaliser.fold_char`) and does nothing else with it.

:func:`ascii_twin` replaces every such character by the ASCII letter (or
apostrophe) it folds to, in the original's case (a small letter that folds to
several small letters, such as ``ß``, by all of them).  The
twin has the same skeleton as the original: the character path folds each
character on its own and reads only its case (upper, lower, letter or not) to
split glued words, and the twin keeps every character's fold and case; the
skeleton's ASCII path gives the same result as its character path (the
normaliser's tests compare the two).  A text holding any other character
(look-alikes that fold to two letters or to nothing, invisible characters,
Chinese, symbols, non-ASCII spaces) has no twin (None): it takes the full
path, as before.

The twin is for reading words, never for storing or showing: what it reads as
a name or a place is the original's skeleton.  The translation table holds
characters (never text) and is bounded by :data:`MAX_CHARS`; past that,
characters not in it are folded one by one, not remembered.
"""

from __future__ import annotations

from typing import Final

from core.pii.normaliser import fold_char

MAX_CHARS: Final = 4096


def _twin_char(ch: str) -> str:
    """The ASCII letter or apostrophe ``ch`` folds to, in ``ch``'s case; ``ch`` itself if none.

    A small letter that folds to several small ASCII letters (``ß`` -> ``ss``, ``ﬁ`` -> ``fi``)
    is replaced by all of them: the skeleton's character path appends the same letters, and a
    small letter splits no word (only capitals do), so the twin's extra letters change nothing.
    """
    folded = fold_char(ch)
    if (
        len(folded) > 1
        and ch.islower()
        and ch.isalpha()
        and folded.isascii()
        and folded.isalpha()
        and folded.islower()
    ):
        return folded
    if len(folded) != 1 or not folded.isascii():
        return ch
    twin = folded.upper() if ch.isupper() else folded
    if not (twin.isalpha() or twin == "'"):
        return ch
    if (twin.isupper(), twin.islower(), twin.isalpha(), twin.isspace()) != (
        ch.isupper(),
        ch.islower(),
        ch.isalpha(),
        ch.isspace(),
    ):
        return ch  # a title-case letter, a letter that is neither: its case would not carry over
    return twin


class _TwinTable(dict[int, str]):
    """``str.translate`` table filled on first sight of a character (bounded: :data:`MAX_CHARS`)."""

    def __missing__(self, code: int) -> str:
        twin = _twin_char(chr(code))
        if len(self) < MAX_CHARS:
            self[code] = twin
        return twin


_TABLE: Final = _TwinTable()


def ascii_twin(text: str) -> str | None:
    """``text`` with every non-ASCII letter that folds to ASCII letters replaced by them (see the module).

    ``text`` itself when it is ASCII; None when some character has no ASCII twin.
    """
    if text.isascii():
        return text
    twin = text.translate(_TABLE)
    return twin if twin.isascii() else None
