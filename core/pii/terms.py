"""Sensitive-category term lists compiled into one regular expression per language (no Presidio)."""

from __future__ import annotations

import re
import re._constants as _C  # type: ignore[import-not-found]  # the stdlib regex parser
import re._parser as _P  # type: ignore[import-not-found]
from collections.abc import Iterable, Sequence
from typing import Any

import ahocorasick

from core.pii.analysis import SENSITIVE_CATEGORIES

SENSITIVE_SCORE = 0.85


def _alternation(fragments: tuple[str, ...]) -> str:
    return "|".join(sorted(fragments, key=len, reverse=True))


def compile_terms(terms: dict[str, tuple[str, ...]], *, word_bounded: bool) -> re.Pattern[str]:
    groups = "|".join(
        f"(?P<{cat}>{_alternation(terms[cat])})" for cat in SENSITIVE_CATEGORIES if cat in terms
    )
    if word_bounded:
        return re.compile(rf"(?<![\w'])(?:{groups})(?![\w'])", re.IGNORECASE)
    return re.compile(f"(?:{groups})", re.IGNORECASE)


def _runs(items: Iterable[tuple[Any, Any]]) -> list[str]:
    """Runs of consecutive literal characters at this level of a parsed pattern."""
    runs: list[str] = []
    current: list[str] = []
    for op, arg in items:
        if op is _C.LITERAL:
            current.append(chr(arg))
        elif current:
            runs.append("".join(current))
            current = []
    if current:
        runs.append("".join(current))
    return runs


def _required(items: Sequence[tuple[Any, Any]]) -> frozenset[str] | None:
    """Literals of which at least one occurs in every match of ``items`` (None: cannot tell)."""
    runs = _runs(items)
    if runs:
        best = max(runs, key=lambda r: (len(r.strip()), not r.isalpha()))
        if len(best.strip()) >= 2 or not best.isascii():
            return frozenset({best.lower()})
    for op, arg in items:
        inner: Sequence[tuple[Any, Any]] | None = None
        if op is _C.BRANCH:
            inner = [(op, arg)]
        elif op is _C.SUBPATTERN:
            inner = arg[-1]
        elif op in (_C.MAX_REPEAT, _C.MIN_REPEAT) and arg[0] >= 1:
            inner = arg[2]
        if inner is None:
            continue
        if len(inner) == 1 and inner[0][0] is _C.BRANCH:
            options: set[str] = set()
            for branch in inner[0][1][1]:
                found = _required(branch)
                if found is None:
                    options = set()
                    break
                options |= found
            if options:
                return frozenset(options)
        else:
            found = _required(inner)
            if found is not None:
                return found
    if runs:
        return frozenset({max(runs, key=lambda r: (len(r), not r.isalpha())).lower()})
    return None


class TermPrefilter:
    """A necessary condition for a match of the term pattern: one of its literals occurs.

    Every fragment contributes literals of which at least one must appear
    (case-folded) in any text it matches; an Aho-Corasick automaton over all
    of them says in one pass whether the full regular expression can match at
    all.  Most text (names, addresses, ordinary letters) carries none, so the
    costly alternation runs only where it can find something.  A fragment whose
    literals cannot be derived disables the prefilter (always "maybe").
    """

    def __init__(self, terms: dict[str, tuple[str, ...]]) -> None:
        literals: set[str] = set()
        self._always = False
        for fragments in terms.values():
            for fragment in fragments:
                found = _required(list(_P.parse(fragment)))
                if found is None:
                    self._always = True
                    continue
                literals |= found
        self._automaton = ahocorasick.Automaton()
        for literal in literals:
            self._automaton.add_word(literal, literal)
        if literals:
            self._automaton.make_automaton()
        self._empty = not literals

    def may_match(self, text: str) -> bool:
        if self._always:
            return True
        if self._empty:
            return False
        for _ in self._automaton.iter(text.lower()):
            return True
        return False
