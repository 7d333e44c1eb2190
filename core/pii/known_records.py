"""Record-aware detection: the names, emails and phones of customers in the store.

:class:`KnownRecords` compiles the values into Aho-Corasick automata (pyahocorasick)
matched on normalised, case-folded text.  It lives only in memory: it is built
inside the gateway (purpose ``data_quality``) and is never serialised; it has no
``__repr__`` that shows values and refuses pickling.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Literal

import ahocorasick

from core.errors import InputError
from core.pii.analysis import IDENTIFIER, Finding
from core.pii.language import has_cjk
from core.pii.normaliser import NormalisedText

KnownKind = Literal["name", "email", "phone"]
_TYPES: Final = {"name": "PERSON", "email": "EMAIL_ADDRESS", "phone": "PHONE_NUMBER"}
_PHONE_TAIL: Final = 9  # national significant digits compared (ignores country prefixes)
_MIN_LATIN_NAME: Final = 3
_MIN_CJK_NAME: Final = 2
_DIGIT_GLUE: Final = frozenset(" .-()/+\u00a0")
_SPACES: Final = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class _Hit:
    start: int
    end: int
    kind: str


class KnownRecords:
    """Exact matching of known customer values; build with :meth:`from_pairs`."""

    __slots__ = ("_digits", "_size", "_text")

    def __init__(self) -> None:
        self._text = ahocorasick.Automaton()
        self._digits = ahocorasick.Automaton()
        self._size = 0

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[str, str]]) -> KnownRecords:
        """Build from ``(kind, value)`` pairs; kind is ``name``, ``email`` or ``phone``."""
        self = cls()
        for kind, value in pairs:
            self._add(kind, value)
        if self._size:
            if len(self._text):
                self._text.make_automaton()
            if len(self._digits):
                self._digits.make_automaton()
        return self

    def __len__(self) -> int:
        return self._size

    def __repr__(self) -> str:
        return f"KnownRecords(<{self._size} values>)"

    def __reduce__(self) -> str | tuple[object, ...]:
        raise TypeError("KnownRecords holds personal data and is never serialised")

    def _add(self, kind: str, value: str) -> None:
        if kind not in _TYPES:
            raise InputError("known record kind must be name, email or phone")
        if kind == "phone":
            digits = "".join(c for c in value if c.isdigit())
            if len(digits) >= 7:
                key = digits[-_PHONE_TAIL:]
                self._digits.add_word(key, (len(key), "phone"))
                self._size += 1
            return
        key = _SPACES.sub(" ", value.strip()).casefold()
        cjk = has_cjk(key)
        if len(key) < (_MIN_CJK_NAME if cjk else _MIN_LATIN_NAME):
            return
        self._text.add_word(key, (len(key), kind))
        self._size += 1
        if kind == "name" and not cjk and " " in key:
            surname = key.rsplit(" ", 1)[1]
            if len(surname) >= 4 and not self._text.exists(surname):
                self._text.add_word(surname, (len(surname), "surname"))

    def find(self, norm: NormalisedText) -> list[Finding]:
        """Findings in ORIGINAL offsets for every known value in the text."""
        if not self._size:
            return []
        hits: list[_Hit] = []
        if len(self._text) and self._text.kind == ahocorasick.AHOCORASICK:
            hits.extend(self._find_text(norm.text))
        if len(self._digits) and self._digits.kind == ahocorasick.AHOCORASICK:
            hits.extend(self._find_digits(norm.text))
        # a surname inside a matched full name is the same mention
        hits = [
            h for h in hits if not any(o is not h and o.start <= h.start and h.end <= o.end for o in hits)
        ]
        out: list[Finding] = []
        for hit in hits:
            start, end = norm.to_original(hit.start, hit.end)
            out.append(Finding(_TYPES[hit.kind], IDENTIFIER, start, end, 1.0))
        return out

    def _find_text(self, text: str) -> Iterable[_Hit]:
        folded = text.casefold()
        if len(folded) != len(text):  # rare: case folding changed length; fall back to lower()
            folded = text.lower()
        for end_idx, (length, kind) in self._text.iter(folded):
            start, end = end_idx - length + 1, end_idx + 1
            latin = not has_cjk(folded[start:end])
            if latin and (_is_word(folded, start - 1) or _is_word(folded, end)):
                continue
            if kind == "surname":
                if not text[start].isupper():
                    continue
                kind = "name"
            yield _Hit(start, end, kind)

    def _find_digits(self, text: str) -> Iterable[_Hit]:
        digits: list[str] = []
        where: list[int] = []
        for i, ch in enumerate(text):
            if ch.isdigit():
                digits.append(ch)
                where.append(i)
            elif ch not in _DIGIT_GLUE:
                digits.append("#")
                where.append(i)
        projected = "".join(digits)
        for end_idx, (length, _kind) in self._digits.iter(projected):
            start = end_idx - length + 1
            nxt = end_idx + 1
            if nxt < len(projected) and projected[nxt].isdigit():
                continue
            # extend left over a country/trunk prefix glued to the match
            while start > 0 and projected[start - 1].isdigit():
                start -= 1
            yield _Hit(where[start], where[end_idx] + 1, "phone")


def _is_word(text: str, i: int) -> bool:
    return 0 <= i < len(text) and (text[i].isalnum() or text[i] == "_")
