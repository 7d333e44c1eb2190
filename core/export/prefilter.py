"""A literal pre-filter for the sensitive-term patterns: skip the regex when no match is possible.

Python's ``re`` tries every alternative of the term alternation at every word
start, which costs ~2 µs per character of a letter.  Every term fragment needs
certain literal text to match ("died", "funeral", "accident", "去世" ...): this
module derives, for each fragment, a set of literals of which any match must
contain at least one (the classic "required factor", computed from the parsed
pattern), and puts all of them in one Aho-Corasick automaton.  A line that
contains none of them cannot match, so the regex is skipped; a line that does
goes through the exact same regex as before.  If any fragment has no usable
literal, the pre-filter says "maybe" for every text (never a false negative).
"""

from __future__ import annotations

import re
import re._constants as sre  # type: ignore[import-not-found]  # the standard library's regex parser
import re._parser as sre_parse  # type: ignore[import-not-found]
from collections.abc import Iterable, Mapping
from typing import Any, Final

import ahocorasick

from core.pii.normaliser import normalise

_MIN_WEIGHT: Final = 1


def _required(data: Any) -> frozenset[str] | None:
    """Literals of which every match of the parsed sequence ``data`` contains one (None: unknown)."""
    candidates: list[frozenset[str]] = []
    run: list[str] = []

    def close() -> None:
        if run:
            candidates.append(frozenset({"".join(run)}))
            run.clear()

    for op, av in data:
        if op is sre.LITERAL:
            run.append(chr(av))
            continue
        close()
        found: frozenset[str] | None = None
        if op is sre.SUBPATTERN:
            found = _required(av[3])
        elif op is sre.BRANCH:
            parts = [_required(branch) for branch in av[1]]
            if all(p is not None for p in parts):
                found = frozenset().union(*[p for p in parts if p is not None])
        elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT) and av[0] >= 1:
            found = _required(av[2])
        if found is not None:
            candidates.append(found)
    close()
    if not candidates:
        return None
    return max(candidates, key=_quality)


def _weight(literal: str) -> int:
    """Longer is rarer; one ASCII letter or digit is useless, one other character (&, 癌) is fine."""
    if len(literal) == 1 and literal.isascii() and literal.isalnum():
        return 0
    return len(literal)


def _quality(anchors: frozenset[str]) -> tuple[int, float]:
    """Rarest first: the shortest literal decides; then long literals, few of them."""
    return min(_weight(x) for x in anchors), sum(len(x) for x in anchors) / len(anchors) - 2 * len(anchors)


def required_literals(fragment: str) -> frozenset[str] | None:
    """Lower-cased literals of which every match of ``fragment`` contains one (None: none usable)."""
    found = _required(sre_parse.parse(fragment, re.IGNORECASE))
    if found is None or min(_weight(x) for x in found) < _MIN_WEIGHT:
        return None
    return frozenset(x.lower() for x in found)


class TermPrefilter:
    """``maybe(text)`` is False only when no term of the lists can match ``text``."""

    def __init__(self, term_lists: Iterable[Mapping[str, tuple[str, ...]]]) -> None:
        self._automaton = ahocorasick.Automaton()
        self.exact = True
        anchors: set[str] = set()
        for terms in term_lists:
            for fragments in terms.values():
                for fragment in fragments:
                    found = required_literals(fragment)
                    if found is None:
                        self.exact = False
                        return
                    anchors |= found
        for anchor in anchors:
            self._automaton.add_word(anchor, anchor)
        self._automaton.make_automaton()
        self.anchors = len(anchors)

    def maybe(self, text: str) -> bool:
        return self.maybe_normalised(normalise(text).text)

    def maybe_normalised(self, normalised: str) -> bool:
        """As :meth:`maybe`, for text already passed through :func:`core.pii.normaliser.normalise`."""
        if not self.exact:
            return True
        for _ in self._automaton.iter(normalised.lower()):
            return True
        return False
