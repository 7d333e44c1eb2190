"""Sensitive-category term lists compiled into one regular expression per language (no Presidio)."""

from __future__ import annotations

import bisect
import itertools
import re
import re._constants as _C  # type: ignore[import-not-found]  # the stdlib regex parser
import re._parser as _P  # type: ignore[import-not-found]
import threading
from collections.abc import Iterator, Sequence
from typing import Any, Final

import ahocorasick

from core.pii.analysis import SENSITIVE_CATEGORIES

SENSITIVE_SCORE = 0.85


def _alternation(fragments: tuple[str, ...]) -> str:
    return "|".join(sorted(fragments, key=len, reverse=True))


# kana and ideographs: never letters of an English word (see _word_char)
_CJK_RANGES: Final = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_CHAR: Final = re.compile(f"[{_CJK_RANGES}]")


def compile_terms(terms: dict[str, tuple[str, ...]], *, word_bounded: bool) -> re.Pattern[str]:
    groups = "|".join(
        f"(?P<{cat}>{_alternation(terms[cat])})" for cat in SENSITIVE_CATEGORIES if cat in terms
    )
    if word_bounded:
        # a Latin term glued to Chinese or Japanese text still stands alone (李娜deceased), and so
        # does one glued to a number (RIP2023, RIP_2023, Bankruptcy2020: in the skeleton, digits
        # inside a word are leetspeak already read as letters, and an underscore between two
        # letters is a space already): the boundary is a letter of another kind than those
        # scripts' (see _word_char)
        return re.compile(
            rf"(?<![^\W\d_{_CJK_RANGES}]|')(?:{groups})(?![^\W\d_{_CJK_RANGES}]|')", re.IGNORECASE
        )
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
    """A character that glues to an English term's edge: letters and ``'``, but not digits or
    ``_`` (``RIP2023``, ``RIP_2023`` hold the word) nor kana or ideographs (Chinese is written
    without spaces, so ``李娜deceased`` holds the word)."""
    return (ch.isalpha() and _CJK_CHAR.match(ch) is None) or ch == "'"


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


def _max_spaces(data: Any) -> float:
    """The most whitespace characters a match of the parsed ``data`` can hold (``inf``: unbounded)."""
    total = 0.0
    for op, av in data:
        if op is _C.LITERAL:
            total += chr(av).isspace()
        elif op is _C.NOT_LITERAL or op is _C.ANY:
            total += 1
        elif op is _C.SUBPATTERN:
            total += _max_spaces(av[3])
        elif op is _C.ATOMIC_GROUP:
            total += _max_spaces(av)
        elif op is _C.BRANCH:
            total += max(_max_spaces(branch) for branch in av[1])
        elif op in (_C.MAX_REPEAT, _C.MIN_REPEAT, _C.POSSESSIVE_REPEAT):
            inner = _max_spaces(av[2])
            if inner:
                total += float("inf") if av[1] == _C.MAXREPEAT else inner * av[1]
        elif op is _C.IN:
            total += _class_has_space(av)
        elif op is _C.CATEGORY:
            total += av in (_C.CATEGORY_SPACE, _C.CATEGORY_NOT_WORD, _C.CATEGORY_NOT_DIGIT)
        elif op in (_C.AT, _C.ASSERT, _C.ASSERT_NOT, _C.GROUPREF):
            total += float("inf") if op is _C.GROUPREF else 0
        else:  # anything this walk does not know: no bound
            return float("inf")
    return total


def _class_has_space(items: Any) -> bool:
    for op, av in items:
        if op is _C.NEGATE:
            return True  # [^...]: assume it may hold a space
        if op is _C.LITERAL and chr(av).isspace():
            return True
        if op is _C.RANGE and av[0] <= ord(" ") <= av[1]:
            return True
        if op is _C.CATEGORY and av in (_C.CATEGORY_SPACE, _C.CATEGORY_NOT_WORD, _C.CATEGORY_NOT_DIGIT):
            return True
    return False


def max_term_spaces(*term_lists: dict[str, tuple[str, ...]]) -> int | None:
    """The most whitespace characters one match of any term can hold (None: no bound).

    A term of ``n`` spaces spans at most ``n + 1`` words of the skeleton (whose word separator is
    one space), so a check that reads text in pieces needs at most ``n`` words of context on
    either side of a cut (the outbound gate's line joints).
    """
    most = 0.0
    for terms in term_lists:
        for fragments in terms.values():
            for fragment in fragments:
                most = max(most, _max_spaces(_P.parse(fragment)))
    return None if most == float("inf") else int(most)


class TermMatcher:
    """The term pattern, tried only where one of its required literals occurs.

    :class:`TermPrefilter` says whether a text can hold a match at all; when it can, running the
    whole alternation over the text costs several microseconds per character (hundreds of
    fragments tried at every position).  Every match of a fragment holds an occurrence of one of
    the fragment's required literals, so for each occurrence (:meth:`TermPrefilter.hits`) only
    the fragments that require that literal are tried (a small alternation compiled once per
    literal, in the big pattern's order), and only at the positions a match holding the
    occurrence can start from (no further back than the pattern's width, or its most spaces).

    The result holds every match that ``pattern.finditer`` finds: at a position where the big
    pattern matches fragment F, the small pattern of a literal of F that occurs inside the match
    holds F and every fragment before F that it holds comes before F in the big pattern too, so
    it matches F there as well.  It may hold more (a match that overlaps an earlier one, which
    ``finditer`` skips).  When the work would exceed one attempt per character, or a fragment has
    no literal, the big pattern is run instead: never slower than before by more than that.
    """

    def __init__(self, terms: dict[str, tuple[str, ...]], *, word_bounded: bool) -> None:
        self.pattern = compile_terms(terms, word_bounded=word_bounded)
        self.prefilter = TermPrefilter(terms, word_bounded=word_bounded)
        self._word_bounded = word_bounded
        self._exact = self.prefilter.exact
        by_literal: dict[str, dict[str, list[str]]] = {}
        # literals that begin every match of every fragment that requires them: tried only there
        leading: dict[str, bool] = {}
        for category in SENSITIVE_CATEGORIES:
            for fragment in terms.get(category, ()):
                parsed = list(_P.parse(fragment))
                found = _required(parsed)
                if found is None:
                    self._exact = False
                    continue
                head = _edge_run(parsed, last=False)
                for literal in found:
                    by_literal.setdefault(literal, {}).setdefault(category, []).append(fragment)
                    leading[literal] = leading.get(literal, True) and head.startswith(literal)
        self._fragments = by_literal
        self._leading = leading
        self._subs: dict[str, re.Pattern[str]] = {}
        self._lock = threading.Lock()
        width = _P.parse(self.pattern.pattern, self.pattern.flags).getwidth()[1]
        self._width: int | None = None if width >= _C.MAXREPEAT else int(width)
        self._spaces = max_term_spaces(terms)

    def _sub(self, literal: str) -> re.Pattern[str] | None:
        sub = self._subs.get(literal)
        if sub is None:
            fragments = self._fragments.get(literal)
            if fragments is None:
                return None
            with self._lock:
                sub = self._subs.get(literal)
                if sub is None:
                    sub = compile_terms(
                        {cat: tuple(frags) for cat, frags in fragments.items()},
                        word_bounded=self._word_bounded,
                    )
                    self._subs[literal] = sub
        return sub

    def _first_start(self, spaces: list[int], start: int, end: int) -> int:
        """The first position a match holding ``[start, end)`` can start from (``spaces``: the
        positions of the view's whitespace, in order)."""
        first = 0
        if self._width is not None:
            first = max(first, start - (self._width - (end - start)))
        if self._spaces is not None:
            # a match holds at most ``self._spaces`` of the whitespace characters before ``start``
            before = bisect.bisect_left(spaces, start) - (self._spaces + 1)
            if before >= 0:
                first = max(first, spaces[before] + 1)
        return first

    def _last_end(self, spaces: list[int], start: int, size: int) -> int:
        """Where a match that starts at or before ``start`` ends at the latest: before the first
        whitespace past the most it can hold, or past its width.  The character there is
        whitespace (or the end), so cutting the text there changes no look-ahead."""
        stop = size
        if self._width is not None:
            stop = min(stop, start + self._width)
        if self._spaces is not None:
            after = bisect.bisect_left(spaces, start) + self._spaces
            if after < len(spaces):
                stop = min(stop, spaces[after])
        return stop

    def matches(self, view: str) -> list[re.Match[str]]:
        """Matches of :attr:`pattern` in ``view``: every one ``finditer`` finds (see the class)."""
        if not self._exact:
            return list(self.pattern.finditer(view))
        hits = list(self.prefilter.hits(view))
        if not hits:
            return []
        if len(view.lower()) != len(view):  # offsets of the literals would not be the view's
            return list(self.pattern.finditer(view))
        low = view.lower()
        spaces = [m.start() for m in _SPACE.finditer(view)] if self._spaces is not None else []
        budget = 4 * len(view) + 256  # characters searched, over all occurrences
        found: dict[tuple[int, int, str | None], re.Match[str]] = {}
        for start, end in hits:
            literal = low[start:end]
            sub = self._sub(literal)
            if sub is None:
                return list(self.pattern.finditer(view))
            first = start if self._leading.get(literal) else self._first_start(spaces, start, end)
            stop = self._last_end(spaces, start, len(view))
            budget -= stop - first
            if budget < 0:
                return list(self.pattern.finditer(view))
            pos = first
            while pos <= start:  # every position in [first, start] where the small pattern matches
                match = sub.search(view, pos, stop)
                if match is None or match.start() > start:
                    break
                found.setdefault((match.start(), match.end(), match.lastgroup), match)
                pos = match.start() + 1
        return sorted(found.values(), key=lambda m: (m.start(), m.end()))


_SPACE: Final = re.compile(r"\s")


def longest_literal(terms: dict[str, tuple[str, ...]]) -> int:
    """The length of the longest literal :class:`TermPrefilter` looks for in ``terms`` (0: none)."""
    longest = 0
    for fragments in terms.values():
        for fragment in fragments:
            found = _required(_P.parse(fragment))
            if found:
                longest = max(longest, *(len(literal) for literal in found))
    return longest


# -- misspelt words: a word one edit away from a word of the terms ----------------------------

_MAX_EXPANSIONS: Final = 256
"""The most strings one fragment is expanded to (:func:`_expand`); past that, the rest is dropped."""
_BREAK: Final = "\x00"
"""Stands for what the expansion does not spell out (``\\w++``, ``\\d{4}``): no word crosses it."""
MIN_TYPO_WORD: Final = 5
"""The shortest written word read as a misspelling (and a word of the terms is one letter longer
at most, so at least this long too: ``hnged`` for ``hanged``)."""
MIN_TYPO_TERM: Final = 6
"""The shortest word of the terms a misspelling is looked for (``cancer``, ``prison``, ``hanged``)."""
MIN_SUBSTITUTION_TERM: Final = 7
"""The shortest word of the terms a one-letter substitution is read as (a six-letter word with one
letter changed is too often another word: cancer, dancer, lancer, canker)."""


def _expand(data: Any) -> list[str]:
    """The strings a parsed fragment matches, for the finite parts of it (at most
    :data:`_MAX_EXPANSIONS`); what it cannot spell out (a class, an unbounded repeat) is
    :data:`_BREAK`, and look-arounds match the empty string."""
    out = [""]
    for op, av in data:
        if op is _C.LITERAL:
            options = [chr(av).lower()]
        elif op is _C.SUBPATTERN:
            options = _expand(av[3])
        elif op is _C.BRANCH:
            options = [s for branch in av[1] for s in _expand(branch)]
        elif op in (_C.MAX_REPEAT, _C.MIN_REPEAT, _C.POSSESSIVE_REPEAT) and av[1] <= 2:
            inner = _expand(av[2])
            options = [""] if av[0] == 0 else []
            for count in range(max(1, av[0]), av[1] + 1):
                options += ["".join(parts) for parts in itertools.product(inner, repeat=count)]
        elif op is _C.IN and all(o is _C.LITERAL for o, _a in av) and len(av) <= 3:
            options = [chr(a).lower() for _o, a in av]
        elif op in (_C.AT, _C.ASSERT, _C.ASSERT_NOT):
            continue
        else:
            options = [_BREAK]
        out = [a + b for a in out for b in options][:_MAX_EXPANSIONS]
    return out


_TERM_WORD: Final = re.compile(r"[a-z]+")


def term_words(
    *term_lists: dict[str, tuple[str, ...]], shortest: int = MIN_TYPO_TERM, longest: int | None = None
) -> frozenset[str]:
    """The words (letters only, ``shortest`` to ``longest`` letters: by default :data:`MIN_TYPO_TERM`
    or more) that the terms' phrases are made of: ``cremated``, ``bailiffs``, ``serving``,
    ``sentence``.  A word of a phrase alone is no finding; a misspelt word read as one of these is
    matched with the terms again (:class:`TypoIndex`, :class:`ShortTypoIndex`)."""
    words: set[str] = set()
    for terms in term_lists:
        for fragments in terms.values():
            for fragment in fragments:
                for text in _expand(_P.parse(fragment)):
                    words.update(
                        w
                        for w in _TERM_WORD.findall(text)
                        if len(w) >= shortest and (longest is None or len(w) <= longest)
                    )
    return frozenset(words)


def _one_edit(word: str, term: str) -> bool:
    """Whether ``word`` is ``term`` with one letter left out, added, changed (terms of
    :data:`MIN_SUBSTITUTION_TERM` letters or more) or two neighbours swapped."""
    size, want = len(word), len(term)
    if size == want:
        diff = [i for i in range(size) if word[i] != term[i]]
        if len(diff) == 1:
            return want >= MIN_SUBSTITUTION_TERM
        return (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and word[diff[0]] == term[diff[1]]
            and word[diff[1]] == term[diff[0]]
        )
    if abs(size - want) != 1:
        return False
    short, long_ = (word, term) if size < want else (term, word)
    i = 0
    while i < len(short) and short[i] == long_[i]:
        i += 1
    return short[i:] == long_[i + 1 :]


def _deletion_index(words: frozenset[str]) -> dict[str, frozenset[str]]:
    """Each word filed under itself and under each of its one-letter deletions."""
    index: dict[str, set[str]] = {}
    for word in words:
        index.setdefault(word, set()).add(word)
        for i in range(len(word)):
            index.setdefault(word[:i] + word[i + 1 :], set()).add(word)
    return {key: frozenset(found) for key, found in index.items()}


class TypoIndex:
    """Words one edit away from a word of the terms (:func:`term_words`), by their deletions.

    Each word of the terms is filed under itself and under each of its one-letter deletions; a
    written word's candidates are the words filed under it or under one of its own deletions,
    checked with :func:`_one_edit`.  A lookup is linear in the word's length (a few dictionary
    probes per letter); words longer than any term word are never looked up.
    """

    def __init__(self, words: frozenset[str]) -> None:
        self._index = _deletion_index(words)
        self._words = words
        self._longest = max((len(w) for w in words), default=0)

    def correction(self, word: str) -> str | None:
        """The term word that ``word`` (lower-case letters) misspells, or None (also for a word
        of the terms itself, and when two term words are as near)."""
        if len(word) < MIN_TYPO_WORD or len(word) > self._longest + 1 or word in self._words:
            return None
        found: set[str] = set(self._index.get(word, ()))
        for i in range(len(word)):
            found |= self._index.get(word[:i] + word[i + 1 :], frozenset())
        near = {term for term in found if _one_edit(word, term)}
        if len(near) == 1:
            return near.pop()
        return _variants(near)


def _variants(near: set[str]) -> str | None:
    """The first of ``near`` when its words are spellings of one word, each one edit from the others
    (leukaemia and leukemia, for leukeamia); None otherwise (two words: no reading)."""
    if not near or len(near) > _MAX_VARIANTS:
        return None
    words = sorted(near)
    if all(_one_edit(a, b) or _one_edit(b, a) for a, b in itertools.combinations(words, 2)):
        return words[0]
    return None


_MAX_VARIANTS: Final = 3


def term_word_categories(*term_lists: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """Each word of :func:`term_words` and the category of the first phrase that holds it."""
    out: dict[str, str] = {}
    for terms in term_lists:
        for category, fragments in terms.items():
            for fragment in fragments:
                for text in _expand(_P.parse(fragment)):
                    for word in _TERM_WORD.findall(text):
                        if len(word) >= MIN_TYPO_TERM:
                            out.setdefault(word, category)
    return out


MIN_SHORT_TERM: Final = 4
"""The shortest word of the terms whose misspellings :class:`ShortTypoIndex` reads (wife, died, baby)."""
MAX_SHORT_TERM: Final = MIN_TYPO_TERM - 1
_VOWELS: Final = frozenset("aeiouy")


def _short_edit(word: str, term: str) -> bool:
    """Whether ``word`` is the short ``term`` mistyped the ways a hand mistypes a short word, its
    first letter kept: two neighbours swapped (wfie), one letter doubled (diied), one vowel for
    another (dued), or one letter left out of a five-letter word (wdow); no other substitution (a
    short word with one letter changed is too often another word: wide, wipe, life)."""
    if not word or word[0] != term[0]:
        return False
    size, want = len(word), len(term)
    if size == want:
        diff = [i for i in range(size) if word[i] != term[i]]
        if len(diff) == 1:
            return word[diff[0]] in _VOWELS and term[diff[0]] in _VOWELS
        return (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and word[diff[0]] == term[diff[1]]
            and word[diff[1]] == term[diff[0]]
        )
    if size == want + 1:
        return any(word[i] == word[i + 1] and word[:i] + word[i + 1 :] == term for i in range(size - 1))
    if size == want - 1 and size >= MIN_SHORT_TERM:
        return any(term[:i] + term[i + 1 :] == word for i in range(want))
    return False


class ShortTypoIndex:
    """Misspellings of the short words of the terms (:data:`MIN_SHORT_TERM` to
    :data:`MAX_SHORT_TERM` letters: wife, baby, died, widow), by their deletions as
    :class:`TypoIndex`, with the narrower edits of :func:`_short_edit`.  Whether the written word
    is a word of its own (English, a name, a place) is the caller's question."""

    def __init__(self, words: frozenset[str]) -> None:
        self._index = _deletion_index(words)
        self._words = words

    def correction(self, word: str) -> str | None:
        """The short term word that ``word`` (lower-case letters) misspells, or None (also for a
        term word itself, and when two term words are as near)."""
        if not MIN_SHORT_TERM <= len(word) <= MAX_SHORT_TERM + 1 or word in self._words:
            return None
        found: set[str] = set(self._index.get(word, ()))
        for i in range(len(word)):
            found |= self._index.get(word[:i] + word[i + 1 :], frozenset())
        near = {term for term in found if _short_edit(word, term)}
        return near.pop() if len(near) == 1 else None


# -- phrases of remarks read in customer fields only ----------------------------------------------

FIELD_TERMS_EN: Final[dict[str, tuple[str, ...]]] = {
    # Phrases that are a remark wherever they stand in a customer's name or address, but that a
    # letter or a note may use innocently ("your order has passed on to the courier", "serving
    # sentences in bold", "hay fever sufferers"): matched by the import screen in the fields of
    # :data:`core.pii.screen.FIELD_KINDS` only, never in a letter's text.  Written by hand, as
    # staff write remarks; the screen matches them on the same skeleton as the shared lists.
    "bereavement": (
        r"passed on",
        r"(?:gone|went|passed) (?:to (?:heaven|glory|a better place)|home to (?:god|the lord|jesus))",
        r"gone to be with (?:god|the lord|jesus|(?:his|her|their) (?:wife|husband|mum|dad|mother|father))",
        r"no longer (?:alive|living|here)",
    ),
    "health": (
        r"suff?erers?",
        r"(?:had|has|having|suffered|recovering (?:from|after)) (?:a |an |his |her |)"
        r"(?:stroke|heart attack|seizure|breakdown|op|operation|surgery|chemo|cancer|illness|transplant)",
        r"(?:on|in) (?:a |the )?(?:cancer|stroke|dialysis|oncology|renal|cardiac|ic|icu|hdu) (?:ward|unit|list)",
    ),
    "mental_health": (
        r"psych(?:iatric|iatry)? (?:ward|unit|hospital|clinic|facility|care|patient)",
        r"mental (?:hospital|ward|unit|asylum|home|institution)",
        r"(?:took|taken|take|takes|taking) (?:his |her |their |)own li(?:fe|ves)",
        r"(?:hanged|hung|shot|drowned|gassed|poisoned) (?:him|her|them|my|your)sel(?:f|ves)",
        r"(?:on|under) (?:suicide|self harm) watch",
    ),
    "addiction": (
        r"drinks? (?:heavily|too much|a lot|excessively|daily)",
        r"heavy (?:drinker|drinking|user)",
        r"(?:drink|drinking|drug|drugs|booze|alcohol|substance|cocaine|heroin) (?:problems?|issues?|habit|dependen(?:ce|cy)|user)",
        r"(?:on|off) (?:the )?(?:booze|drugs|methadone|gear)",
    ),
    "financial_distress": (
        r"owes? (?:us |them |the bank |the council |everyone |)(?:money|thousands|rent|arrears|\d+)",
        r"owing (?:money|thousands|rent|arrears)",
        r"(?:cannot|can'?t|cant|unable to|could not|couldn'?t) (?:pay|afford)",
        r"(?:money|debts?|rent|arrears) owed",
        r"(?:skint|penniless|destitute)",
        r"(?:ccj|iva|dmp|dro|ccjs|ivas|dmps|dros)(?: ?(?:19|20)\d\d)?",
        r"(?:mortgage|rent|council tax|loan|card) arrears",
    ),
    "pregnancy": (r"expecting (?:a |her |their |)(?:baby|babies|twins|triplets|child|first|second|third)",),
    "family_breakdown": (
        r"(?:wife|husband|partner|spouse) (?:left|walked out on|kicked out|threw out) (?:him|her|them)",
        r"(?:recently |newly |now |)separated ?(?:in |since |)(?:19|20)\d\d",
        r"(?:recently|newly) separated",
    ),
    "criminal_record": (
        r"(?:serving|served|doing|did|got|given) (?:a |his |her |their |)"
        r"(?:(?:\d+ ?(?:years?|yrs?|months?|mths?)|prison|jail|custodial|life|long|suspended) )?(?:sentence|stretch)",
        r"(?:doing|did|served|serving) (?:time|porridge|bird)",
        r"locked up",
        r"on remand",
        r"remanded(?: in custody)?",
        r"(?:ex|former) (?:prisoner|inmate|con|convict|offender)",
    ),
    # a people's word that the shared lists read only with a context (asian family): alone in a
    # name or an address it is a remark, being no name and no place of its own (a street named with
    # it, Asian Highway, is exempted as any street is)
    "ethnicity": (r"asian",),
}
