"""Sensitive-category term lists compiled into one regular expression per language (no Presidio)."""

from __future__ import annotations

import re
import re._constants as _C  # type: ignore[import-not-found]  # the stdlib regex parser
import re._parser as _P  # type: ignore[import-not-found]
from collections.abc import Iterator, Sequence
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


def _required(data: Any) -> frozenset[str] | None:
    """Literals of which every match of the parsed sequence ``data`` contains one (None: unknown).

    Of all the candidate sets (a run of literal characters; the union over the
    branches of an alternation; what a repeated group needs) the rarest is kept
    (:func:`_quality`): ``(?:our|my|deepest) (?:condolences|sympathy)`` is
    anchored on "condolences"/"sympathy", not on "our".
    """
    candidates: list[frozenset[str]] = []
    run: list[str] = []

    def close() -> None:
        if run:
            candidates.append(frozenset({"".join(run).lower()}))
            run.clear()

    for op, av in data:
        if op is _C.LITERAL:
            run.append(chr(av))
            continue
        close()
        found: frozenset[str] | None = None
        if op is _C.SUBPATTERN:
            found = _required(av[3])
        elif op is _C.BRANCH:
            parts = [_required(branch) for branch in av[1]]
            if all(p is not None for p in parts):
                found = frozenset().union(*[p for p in parts if p is not None])
        elif op in (_C.MAX_REPEAT, _C.MIN_REPEAT) and av[0] >= 1:
            found = _required(av[2])
        if found is not None:
            candidates.append(found)
    close()
    candidates = [c for c in candidates if min(_weight(x) for x in c) > 0]
    if not candidates:
        return None
    return max(candidates, key=_quality)


def _weight(literal: str) -> int:
    """Longer is rarer; one ASCII letter, digit or space is useless, one other character (&, 癌) is fine."""
    core = literal.strip()
    if not core or (len(core) == 1 and core.isascii() and core.isalnum()):
        return 0
    return len(core)


def _quality(anchors: frozenset[str]) -> tuple[int, int, float]:
    """Rarest first: the shortest literal decides (five characters are rare enough); then few
    literals ("asian " rather than british/background/family/customer); then long ones."""
    return (
        min(5, min(_weight(x) for x in anchors)),
        -len(anchors),
        sum(len(x) for x in anchors) / len(anchors),
    )


def required_literals(fragment: str) -> frozenset[str] | None:
    """Lower-cased literals of which every match of ``fragment`` contains one (None: none usable)."""
    return _required(_P.parse(fragment))


def _edge_run(items: Sequence[tuple[Any, Any]], *, last: bool) -> str:
    """The run of literal characters that starts (or ends) the parsed fragment."""
    chars: list[str] = []
    for op, arg in reversed(items) if last else items:
        if op is not _C.LITERAL:
            break
        chars.append(chr(arg))
    return "".join(reversed(chars) if last else chars).lower()


def _word_char(ch: str) -> bool:
    return ch.isalnum() or ch in "_'"


class TermPrefilter:
    """A necessary condition for a match of the term pattern: one of its literals occurs.

    Every fragment contributes literals of which at least one must appear
    (case-folded) in any text it matches; an Aho-Corasick automaton over all
    of them says in one pass whether the full regular expression can match at
    all.  Most text (names, addresses, ordinary letters) carries none, so the
    costly alternation runs only where it can find something.  A fragment whose
    literals cannot be derived disables the prefilter (always "maybe").

    With ``word_bounded`` (the English lists, matched between word boundaries),
    a literal that begins or ends its fragment must also begin or end a word
    where it occurs: ``ill`` does not wake the pattern up in "will", nor
    ``tory`` in "history".
    """

    def __init__(self, terms: dict[str, tuple[str, ...]], *, word_bounded: bool = False) -> None:
        anchors: dict[str, tuple[bool, bool]] = {}
        self._always = False
        for fragments in terms.values():
            for fragment in fragments:
                parsed = list(_P.parse(fragment))
                found = _required(parsed)
                if found is None:
                    self._always = True
                    continue
                head = _edge_run(parsed, last=False) if word_bounded else ""
                tail = _edge_run(parsed, last=True) if word_bounded else ""
                for literal in found:
                    # Every match begins with ``head`` and ends with ``tail``.
                    starts = bool(head) and head.startswith(literal)
                    ends = bool(tail) and tail.endswith(literal)
                    old = anchors.get(literal, (True, True))
                    anchors[literal] = (old[0] and starts, old[1] and ends)
        self._automaton = ahocorasick.Automaton()
        for literal, (starts, ends) in anchors.items():
            self._automaton.add_word(literal, (len(literal), starts, ends))
        if anchors:
            self._automaton.make_automaton()
        self._empty = not anchors

    @property
    def exact(self) -> bool:
        """False when some fragment has no literal (then :meth:`may_match` always says maybe)."""
        return not self._always

    def may_match(self, text: str) -> bool:
        if self._always:
            return True
        return next(self.hits(text), None) is not None

    def hits(self, text: str) -> Iterator[tuple[int, int]]:
        """[start, end) of every literal occurrence in ``text`` that a match could use.

        A text in which the term pattern matches holds one inside the match (unless the
        prefilter is not :attr:`exact`, where nothing is promised).
        """
        if self._empty:
            return
        low = text.lower()
        size = len(low)
        for end, (length, starts, ends) in self._automaton.iter(low):
            start = end - length + 1
            if starts and start > 0 and _word_char(low[start - 1]):
                continue
            if ends and end + 1 < size and _word_char(low[end + 1]):
                continue
            yield start, end + 1
