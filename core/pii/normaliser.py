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

import re
import unicodedata
from dataclasses import dataclass
from typing import Final

ZERO_WIDTH: Final = frozenset("\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e")
_LOOKALIKE: Final = {"O": "0", "o": "0", "l": "1", "I": "1", "|": "1"}
# A run of digits and look-alikes holding at least one real digit and one look-alike,
# not glued to other letters (so words such as "Oslo" or "10lb" are left alone).
_LOOKALIKE_RUN: Final = re.compile(
    r"(?<![A-Za-z])(?=[0-9OolI|]*[0-9])(?=[0-9]*[OolI|])[0-9OolI|]{2,}(?![A-Za-z])"
)
_NEEDS_WORK: Final = re.compile(r"[^\x00-\x7f]|[0-9][OolI|]|[OolI|][0-9]")


@dataclass(frozen=True, slots=True)
class NormalisedText:
    """Normalised text plus, per normalised character, its original [start, end)."""

    original: str
    text: str
    starts: tuple[int, ...] | None  # None: identity mapping
    ends: tuple[int, ...] | None

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map a normalised span [start, end) to the original text."""
        if self.starts is None or self.ends is None:
            return start, end
        if end <= start:
            pos = self.starts[start] if start < len(self.starts) else len(self.original)
            return pos, pos
        return self.starts[start], self.ends[end - 1]


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
    fixed = _LOOKALIKE_RUN.sub(lambda m: "".join(_LOOKALIKE.get(c, c) for c in m.group(0)), joined)
    return NormalisedText(original=text, text=fixed, starts=tuple(starts), ends=tuple(ends))
