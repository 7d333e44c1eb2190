"""The outbound gate: every letter (or exported row) is checked before it is written.

Four checks, all without NLP per letter:

1. **Stored analysis.**  A customer whose own text fields (name, address) were
   found sensitive when they were written (``customers.text_sensitivity``) is
   never merged: the letter is quarantined naming the merged free-text fields.
2. **Sensitive categories.**  The same term lists and the same text skeleton
   as the import screen and the note analyser
   (:class:`core.pii.screen.SensitiveScreen`: bereavement, accident, health,
   ... in English and Chinese; look-alikes, spacing, leetspeak and Traditional
   Chinese folded): the letter, line by line with a bounded cache of line
   results (the template's fixed lines are read once per run), plus the joints
   between lines (as many of the last and first words of two neighbouring
   lines' skeletons as one term can hold, so "passed" at the end of one line and
   "away" at the start of the next are read together; two lines that may end and
   begin a spelled-out word, ``k i l⏎l e d``, are read as one).  A line's skeleton
   is put together from memoised words (:func:`core.pii.normaliser.skeleton_views`),
   so per letter only the merged values' words are folded; the patterns run only
   where one of their literals occurs (:class:`core.pii.terms.TermMatcher`), and a
   joint without a literal in its words or across the break is not read at all (which
   literals a line's first and last words may begin or end is looked up once per line,
   :class:`_Crossings`, so most joints cost two flag tests).
   When the letter holds a match, every merged free-text field is checked whole,
   with the field's own exemptions (a surname such as Sick in a name field,
   Hospital Road or Roma in an address): a letter match that a field holds as a
   name or a place is not a finding, and the reason names the fields that carry
   the category.
3. **Shape.**  The merged name and address must hold a name and an address
   (:mod:`core.pii.field_shape`): extra text in them withholds the letter
   (``name_extra_text``, ``address_extra_text``).
4. **Identifiers that do not belong to the recipient.**  Email- and phone-like
   strings are extracted with regular expressions, normalised, turned into the
   store's blind indexes and looked up (one SQL query per distinct value,
   cached).  A value that belongs to another customer, or any contact value in
   a merged free-text field that is not the recipient's own, quarantines the
   letter.  This needs no plaintext automaton of every customer's details
   (:class:`core.pii.KnownRecords` would have to decrypt them all under a
   purpose that the mail-merge subject does not hold); the blind index
   answers "whose is this?" for exactly the values a letter carries.

The template's own text is checked once per run (:meth:`OutboundGate.check_template`),
line by line and whole: a template carrying sensitive content (condolence wording
included: "sorry for your loss", 节哀) or a customer's contact details is refused.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache, partial
from typing import Any, Final, Generic, Protocol, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.crypto import normalise_email, normalise_phone
from core.errors import InputError
from core.export.fields import DERIVED_FIELDS, FREE_TEXT_FIELDS
from core.forksafe import ForkSafeLock
from core.models import customers_t
from core.pii.field_shape import check_field
from core.pii.language import has_cjk
from core.pii.normaliser import (
    NormalisedText,
    ascii_lookalikes,
    normalise,
    skeleton_views,
    spelled_edges,
)
from core.pii.recognizers.sensitive_terms_en import TERMS_EN
from core.pii.recognizers.sensitive_terms_zh import TERMS_ZH
from core.pii.screen import FIELD_KINDS, SensitiveScreen, has_typo
from core.pii.terms import TermMatcher, max_term_spaces, required_literals

FOREIGN_IDENTIFIER: Final = "foreign_identifier"
STORED_ANALYSIS: Final = "stored_analysis"
LETTER: Final = "letter"
"""The field name of a hit that no single merged value explains (template text plus values)."""

# Linear: a match starts only where a run of local-part characters starts, and no run is re-read.
_EMAIL: Final = re.compile(r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]++@[A-Za-z0-9\-]++(?:\.[A-Za-z0-9\-]++)+")
# Digits with at most three separators between two of them: "0 7 7 0 0 9 0 0 1 2 3" is a number too.
# Linear: a match starts only where a number starts, and tries at most 16 digits from there.
_PHONE: Final = re.compile(r"(?<![\w+])\+?\d(?:[ ()./\-]{0,3}+\d){6,16}(?!\w)")
_MIN_PHONE_DIGITS: Final = 7
_MAYBE_IDENTIFIER: Final = re.compile(r"[@＠\d０-９]")
# In ASCII text, what :func:`core.pii.normaliser.is_normal` looks for: a digit next to a look-alike
# of one (O, o, l, I, |).  The same pairs as its pattern, found faster: one class tried per position.
_LOOKALIKE_BY_DIGIT: Final = re.compile(r"[0-9OolI|](?:(?<=[0-9])[OolI|]|(?<=[OolI|])[0-9])")
# At least as many digits as a phone number has (linear: a digit and a non-digit never overlap).
_ENOUGH_DIGITS: Final = re.compile(rf"\A(?:\D*+\d){{{_MIN_PHONE_DIGITS}}}")


@dataclass(frozen=True, slots=True)
class GateReason:
    """Why a letter was withheld: a category and the field that carried it (never the content)."""

    category: str
    field: str

    def to_dict(self) -> dict[str, str]:
        return {"category": self.category, "field": self.field}


@dataclass(frozen=True, slots=True)
class Letter:
    """One letter (or row) on its way out."""

    pseudonym: str
    text: str = field(repr=False)  # customer data: never in a repr (logs, tracebacks)
    values: Mapping[str, str] = field(repr=False)
    stored_sensitive: bool = False
    #: the source values of derived merge fields (the address a town was taken from), merged or not
    sources: Mapping[str, str] = field(default_factory=dict, repr=False)


class LetterGate(Protocol):
    """Checks one letter; an empty result lets it out."""

    def check(self, letter: Letter) -> tuple[GateReason, ...]: ...


class IdentifierOwners(Protocol):
    """Whose is this (normalised) email or phone number?  Pseudonyms; empty when nobody's."""

    def owners(self, kind: str, value: str) -> frozenset[str]: ...


K = TypeVar("K")
V = TypeVar("V")


class _Lru(Generic[K, V]):
    """A small bounded mapping that keeps what is used: memory stays flat.

    Two generations of at most ``size`` entries each: new entries go into the young one,
    and when it is full the old one is dropped and the young one takes its place; an entry
    found in the old one moves back into the young one.  A hit costs one or two dict look-ups
    (the gate looks up a dozen lines per letter), and a line used in every letter (the
    template's) is never pushed out by the letters' own lines.
    """

    def __init__(self, size: int) -> None:
        self._half = max(1, size)
        self._young: dict[K, V] = {}
        self._old: dict[K, V] = {}

    def get(self, key: K, make: Callable[[K], V]) -> V:
        value = self._young.get(key, _MISSING)
        if value is _MISSING:
            value = self._old.get(key, _MISSING)
            if value is _MISSING:
                value = make(key)
            if len(self._young) >= self._half:
                self._old, self._young = self._young, {}
            self._young[key] = value
        return value  # type: ignore[no-any-return]

    def peek(self, key: K) -> V | None:
        """The value of ``key`` if it is kept (and keep it), else None."""
        value = self._young.get(key, _MISSING)
        if value is _MISSING:
            value = self._old.get(key, _MISSING)
            if value is _MISSING:
                return None
            self.put(key, value)
        return value  # type: ignore[no-any-return]

    def put(self, key: K, value: V) -> None:
        if len(self._young) >= self._half:
            self._old, self._young = self._young, {}
        self._young[key] = value

    def __len__(self) -> int:
        return len(self._young.keys() | self._old.keys())


_MISSING: Final[Any] = object()


class BlindIndexOwners:
    """:class:`IdentifierOwners` through the store's blind indexes (one query per distinct value)."""

    def __init__(
        self,
        *,
        engine: Engine,
        email_index: Callable[[str], bytes],
        phone_index: Callable[[str], bytes],
        cache_size: int = 4096,
    ) -> None:
        self._engine = engine
        self._index = {"email": email_index, "phone": phone_index}
        self._column = {"email": customers_t.c.email_bidx, "phone": customers_t.c.phone_bidx}
        self._cache: _Lru[tuple[str, str], frozenset[str]] = _Lru(cache_size)
        self.lookups = 0

    def owners(self, kind: str, value: str) -> frozenset[str]:
        return self._cache.get((kind, value), self._lookup)

    def _lookup(self, key: tuple[str, str]) -> frozenset[str]:
        kind, value = key
        self.lookups += 1
        idx = self._index[kind](value)
        with self._engine.connect() as conn:
            rows: Iterable[Any] = conn.execute(
                sa.select(customers_t.c.pseudonym).where(
                    self._column[kind] == idx, customers_t.c.erased_at.is_(None)
                )
            ).scalars()
            return frozenset(str(p) for p in rows)


_HEAD_HOT: Final = 1
_TAIL_HOT: Final = 2
_SPELLED_IN: Final = 4
_SPELLED_OUT: Final = 8


@dataclass(slots=True, eq=False)
class _LineResult:
    """What one line holds (compared by identity: nothing compares two; never changed once made,
    not frozen only because a frozen dataclass is slower to make, once per new line)."""

    matches: tuple[tuple[str, str], ...]  # (category, skeleton key)
    identifiers: tuple[tuple[str, str], ...]
    # the first and last words of the line's skeleton (for the joints)
    head: str = field(default="", repr=False)
    tail: str = field(default="", repr=False)
    # _HEAD_HOT, _TAIL_HOT: a term's literal occurs in the head or the tail, or one may cross the
    # line break from this line whatever the other line holds (the joint is read);
    # _SPELLED_IN, _SPELLED_OUT: the line may begin or end with a spelled-out letter (k i l⏎l e d:
    # such a joint is read from the two lines as written).  One int: the cache holds thousands.
    flags: int = 0
    # the literal splits (see _Crossings) that the tail may begin and the head may end: a joint is
    # read when the two sets meet.  Mostly empty (one shared frozenset).
    tail_open: frozenset[int] = field(default=frozenset(), repr=False)
    head_open: frozenset[int] = field(default=frozenset(), repr=False)


@dataclass(frozen=True, slots=True)
class _FieldResult:
    categories: frozenset[str]
    exempt: frozenset[str] = field(repr=False)  # skeleton keys this field holds as a name or a place
    found: frozenset[tuple[str, str]] = field(default=frozenset(), repr=False)  # (category, skeleton key)


def _shape_of(key: tuple[str, str]) -> str | None:
    return check_field(*key)


_CJK_END: Final = re.compile(r"[\u3400-\u9fff]$")
_CJK_START: Final = re.compile(r"[\u3400-\u9fff]")
_NONE: Final[tuple[tuple[str, str], ...]] = ()
_NO_SPLITS: Final[frozenset[int]] = frozenset()
#: The most spaces one match of the screen's terms can hold (the term lists of :class:`SensitiveScreen`).
_TERM_SPACES: Final = max_term_spaces(TERMS_EN, TERMS_ZH)
_MAX_LETTER_CHARS: Final = 200_000


class _Node:
    """A node of a :class:`_Crossings` trie: the splits whose piece ends here, and whether a piece
    ending here is a whole side of a literal (the joint is read whatever the other line holds)."""

    __slots__ = ("hot", "ids", "next")

    def __init__(self) -> None:
        self.next: dict[str, _Node] = {}
        self.ids: frozenset[int] = _NO_SPLITS
        self.hot = False

    def add(self, piece: Iterable[str]) -> _Node:
        node = self
        for ch in piece:
            child = node.next.get(ch)
            if child is None:
                child = node.next[ch] = _Node()
            node = child
        return node

    def walk(self, chars: Iterable[str]) -> tuple[frozenset[int], bool]:
        """The splits of every piece that ``chars`` begins with, and whether one of them is hot."""
        node = self
        ids = _NO_SPLITS
        hot = False
        for ch in chars:
            child = node.next.get(ch)
            if child is None:
                break
            node = child
            if node.ids:
                ids = node.ids if not ids else ids | node.ids
            hot = hot or node.hot
        return ids, hot


class _Crossings:
    """Where an occurrence of a term's literal can cross the break between two lines.

    The joint of two lines is read as ``tail + glue + head`` (glue: a space, or nothing between
    two Chinese characters).  A literal occurrence that lies neither inside the tail nor inside
    the head holds the glue's place: a literal ``L`` split at ``k`` with ``L[:k]`` ending the
    tail and the rest of ``L`` beginning the head; with a space for glue ``L[k]`` is that space
    (``"passed" | "away"`` for ``passed away``), without one ``L[k-1]`` and ``L[k]`` are the two
    Chinese characters on either side.  Each such split has an id; the tail side of every line is
    looked up in a trie of the reversed ``L[:k]`` and the head side in a trie of the rests, once per
    line (cached with it).  A joint without a shared id, and with no literal inside its tail or its
    head (:data:`_TAIL_HOT`, :data:`_HEAD_HOT`), holds no literal occurrence, so no term matches
    there (:class:`core.pii.terms.TermPrefilter`: every match holds one).  A split whose one side
    is empty (a literal beginning or ending with a space) makes the other side hot by itself.
    A superset: the word-boundary conditions of the prefilter are not applied.
    """

    def __init__(self, *term_lists: dict[str, tuple[str, ...]]) -> None:
        self.tail = _Node()  # the pieces before the break, reversed: walked from the tail's end
        self.head = _Node()
        self.always = False  # a term without a literal: every joint is read
        literals: set[str] = set()
        for terms in term_lists:
            for fragments in terms.values():
                for fragment in fragments:
                    found = required_literals(fragment)
                    if found is None:
                        self.always = True
                    else:
                        literals |= found
        tail_ids: dict[_Node, set[int]] = {}
        head_ids: dict[_Node, set[int]] = {}
        split = 0
        for literal in sorted(literals):
            for k in range(len(literal)):
                if literal[k] == " ":  # the glue is a space, and the literal's k-th character
                    before, after = literal[:k], literal[k + 1 :]
                elif k > 0 and _CJK_START.match(literal[k - 1]) and _CJK_START.match(literal[k]):
                    before, after = literal[:k], literal[k:]  # no glue between two Chinese characters
                else:
                    continue
                if not before and not after:
                    self.always = True
                elif not after:
                    self.tail.add(reversed(before)).hot = True
                elif not before:
                    self.head.add(after).hot = True
                else:
                    split += 1
                    tail_ids.setdefault(self.tail.add(reversed(before)), set()).add(split)
                    head_ids.setdefault(self.head.add(after), set()).add(split)
        for ids in (tail_ids, head_ids):
            for node, found_ids in ids.items():
                node.ids = frozenset(found_ids)

    def tail_side(self, tail: str) -> tuple[frozenset[int], bool]:
        """The splits whose first part ends ``tail``; True when the tail alone may cross."""
        return self.tail.walk(reversed(tail.lower()))

    def head_side(self, head: str) -> tuple[frozenset[int], bool]:
        """The splits whose second part begins ``head``; True when the head alone may cross."""
        return self.head.walk(head.lower())


_MATCHERS: list[tuple[TermMatcher, TermMatcher]] = []
_CROSSINGS: list[_Crossings] = []
_MATCHERS_LOCK: Final = ForkSafeLock()  # the gate worker is forked


def _matchers() -> tuple[TermMatcher, TermMatcher]:
    """The English and Chinese term matchers (built once per process: compiling takes a while)."""
    if not _MATCHERS:
        with _MATCHERS_LOCK:
            if not _MATCHERS:
                _MATCHERS.append(
                    (TermMatcher(TERMS_EN, word_bounded=True), TermMatcher(TERMS_ZH, word_bounded=False))
                )
    return _MATCHERS[0]


def _crossings() -> _Crossings:
    """The literal splits of the screen's terms (built once per process)."""
    if not _CROSSINGS:
        with _MATCHERS_LOCK:
            if not _CROSSINGS:
                _CROSSINGS.append(_Crossings(TERMS_EN, TERMS_ZH))
    return _CROSSINGS[0]


def _may_match(view: str) -> bool:
    """Whether a literal of a term occurs in ``view`` (a skeleton): False means no term matches."""
    en, zh = _matchers()
    return en.prefilter.may_match(view) or (has_cjk(view) and zh.prefilter.may_match(view))


class OutboundGate:
    """The letter DLP gate (see the module docstring)."""

    def __init__(
        self,
        *,
        owners: IdentifierOwners,
        phone_region: str,
        screen: SensitiveScreen | None = None,
        line_cache_size: int = 2048,
        field_cache_size: int = 1024,
    ) -> None:
        self._owners = owners
        self._region = phone_region
        self._screen = screen or SensitiveScreen.shared()
        self._lines: _Lru[str, _LineResult] = _Lru(line_cache_size)
        # keyed by (tail, head): strings kept in the line results, whose hashes Python keeps too
        self._joints: _Lru[tuple[str, str], tuple[tuple[str, str], ...]] = _Lru(line_cache_size // 2)
        # The last words of one line and the first of the next are read together: as many as a
        # term can have on one side of the line break (None: a term of unbounded length, whole lines).
        spaces = _TERM_SPACES
        self._joint_words = spaces if spaces is not None and spaces > 0 else None
        self._fields: _Lru[tuple[str, str], _FieldResult] = _Lru(field_cache_size)
        self._shapes: _Lru[tuple[str, str], str | None] = _Lru(field_cache_size)
        self._suspects: _Lru[tuple[str, str], bool] = _Lru(field_cache_size)
        self._template_identifiers: frozenset[tuple[str, str]] = frozenset()

    def defer_lookups(self) -> None:
        """In a forked gate worker (:mod:`core.export.gate_pool`): every identifier owner question
        raises :class:`~core.export.gate_pool.LookupDeferred`, and the letter is checked in the caller."""
        from core.export.gate_pool import CallerLookups

        self._owners = CallerLookups()

    # -- pieces ---------------------------------------------------------------------

    def categories(self, text: str) -> tuple[str, ...]:
        """Sensitive categories found in ``text`` (sorted, distinct), read as one text."""
        found, _exempt = self._screen.matches(text)
        return tuple(sorted({m.category for m in found}))

    def identifiers(self, text: str) -> tuple[tuple[str, str], ...]:
        """(kind, normalised value) of every email- or phone-like string in ``text``.

        Read as written and with look-alike letters and digits folded to ASCII (a Cyrillic
        ``а`` in an e-mail address is read as ``a``): both readings count.
        """
        if text.isascii():
            if _MAYBE_IDENTIFIER.search(text) is None:
                return ()
            # plain ASCII: normalise() would leave it as it is (is_normal(), with a faster pattern)
            if _LOOKALIKE_BY_DIGIT.search(text) is None:
                return self._identifiers(text)
        # Other text is read normalised whatever it holds: an at sign or a digit may be written
        # as a compatibility form that only NFKC reads as one (﹫, ①, superscript digits).
        norm = normalise(text).text
        found = self._identifiers(norm)
        if norm.isascii():
            return found
        looks = ascii_lookalikes(norm)
        if looks == norm:
            return found
        folded = normalise(looks).text  # then O and l in digit runs, as above
        return tuple(dict.fromkeys(found + self._identifiers(folded)))

    def _identifiers(self, norm: str) -> tuple[tuple[str, str], ...]:
        found: list[tuple[str, str]] = []
        if "@" in norm:
            for match in _EMAIL.finditer(norm):
                try:
                    found.append(("email", normalise_email(match.group(0))))
                except InputError:
                    continue
        if _ENOUGH_DIGITS.match(norm) is not None:
            found.extend(self._phones(norm))
        if len(found) < 2:
            return tuple(found)
        return tuple(dict.fromkeys(found))

    def _phones(self, norm: str) -> Iterator[tuple[str, str]]:
        for match in _PHONE.finditer(norm):
            raw = match.group(0)
            if sum(c.isdigit() for c in raw) < _MIN_PHONE_DIGITS:
                continue
            try:
                yield "phone", normalise_phone(raw, self._region)
            except InputError:
                continue

    def _scan_line(self, line: str) -> _LineResult:
        views = skeleton_views(line)  # the skeletons' texts, put together from memoised words
        plain = views[0]
        hot = _may_match(plain)  # most lines hold no literal of any term
        found: tuple[tuple[str, str], ...] = _NONE
        if hot or len(views) > 1:
            view_matches = self._view_matches
            read = views if hot else views[1:]
            found = tuple(dict.fromkeys(match for view in read for match in view_matches(view))) or _NONE
        words = plain.split()
        head = tail = " ".join(words)  # a short line is its own head and tail (one string, kept once)
        # The head and the tail are the line's first and last words, cut where the line has a space:
        # a literal occurs in them only where it occurs in the words joined by single spaces.
        hot_words = hot if head == plain else _may_match(head)
        keep = self._joint_words
        if keep is not None and len(words) > keep:
            head, tail = " ".join(words[:keep]), " ".join(words[-keep:])
        head_hot = hot_words and _may_match(head)
        tail_hot = head_hot if tail is head else hot_words and _may_match(tail)
        crossings = _crossings()
        tail_open, tail_crosses = crossings.tail_side(tail)
        head_open, head_crosses = crossings.head_side(head)
        spelled_in, spelled_out = spelled_edges(line)
        flags = (
            (_HEAD_HOT if head_hot or head_crosses or crossings.always else 0)
            | (_TAIL_HOT if tail_hot or tail_crosses or crossings.always else 0)
            | (_SPELLED_IN if spelled_in else 0)
            | (_SPELLED_OUT if spelled_out else 0)
        )
        return _LineResult(found, self.identifiers(line) or _NONE, head, tail, flags, tail_open, head_open)

    def _scan_joint(self, previous: _LineResult, result: _LineResult) -> tuple[tuple[str, str], ...]:
        """The matches in the last words of ``previous`` and the first of ``result`` read together
        (as many words as one term can hold on either side of the break)."""
        tail, head = previous.tail, result.head
        glue = "" if _CJK_END.search(tail) and _CJK_START.match(head) else " "
        return tuple(self._view_matches(tail + glue + head)) or _NONE

    def _view_matches(self, view: str) -> list[tuple[str, str]]:
        """(category, key) of the term matches in ``view``, a skeleton: as
        :meth:`SensitiveScreen.view_matches` (the street exemption applies), with the patterns
        tried only where their literals occur (:class:`core.pii.terms.TermMatcher`)."""
        en, zh = _matchers()
        found = en.matches(view)
        if has_cjk(view):
            found += zh.matches(view)
        if not found:
            return []
        as_text = NormalisedText(original=view, text=view, starts=None, ends=None)
        exempted = SensitiveScreen.exempted  # a street name (Hospital Road, Via Roma); no field here
        return [
            (match.lastgroup, match.group(0))
            for match in found
            if match.lastgroup is not None and not exempted(as_text, view, view, match.start(), match.end())
        ]

    def _scan(
        self, text: str, values: frozenset[str] = frozenset()
    ) -> tuple[list[tuple[str, str]], dict[tuple[str, str], None]]:
        """The matches of every line (cached by line) and of the joints between lines (cached by
        the pair of lines), and the identifiers of every line.

        ``values`` are the letter's merged free-text values: the terms of a joint between two
        lines that are each one whole value (a name line over an address line) are not read, as
        each value is checked alone, shape included: "Burns" ending the name and "Unit 38" opening
        the address are no "burns unit".  A word spelled out across the two still is."""
        found: list[tuple[str, str]] = []
        identifiers: dict[tuple[str, str], None] = {}
        previous: _LineResult | None = None
        previous_line = ""
        lines = self._lines
        joints = self._joints
        scan_line = self._scan_line
        for line in text.split("\n"):
            if not line or line.isspace():
                continue
            # the young generation first, without a call (a template's line: almost always there)
            result = lines._young.get(line)
            if result is None:
                result = lines.get(line, scan_line)
            if previous is not None and (
                previous.flags & (_TAIL_HOT | _SPELLED_OUT)
                or result.flags & (_HEAD_HOT | _SPELLED_IN)
                or previous.tail_open
            ):
                # a joint is read only where a literal may occur in it (most joints: none)
                if (
                    previous.flags & _TAIL_HOT
                    or result.flags & _HEAD_HOT
                    or not previous.tail_open.isdisjoint(result.head_open)
                ) and not (values and previous_line.strip() in values and line.strip() in values):
                    key = (previous.tail, result.head)
                    matches = joints.peek(key)
                    if matches is None:
                        matches = self._scan_joint(previous, result)
                        joints.put(key, matches)
                    if matches:
                        found.extend(matches)
                if (
                    previous.flags & _SPELLED_OUT and result.flags & _SPELLED_IN
                ):  # k i l⏎l e d: read the two lines as one
                    for view in skeleton_views(previous_line + "\n" + line):
                        found.extend(self._view_matches(view))
            previous = result
            previous_line = line
            if result.matches:
                found.extend(result.matches)
            for ident in result.identifiers:
                identifiers[ident] = None
        return found, identifiers

    def _suspect(self, key: tuple[str, str]) -> bool:
        """Whether a merged field may hold what only a field is read for: a phrase of the field-only
        terms ("passed on", "owes money") or a misspelt term ("bankrupcy"), which the letter's own
        scan does not look for.  False is exact (the screen's cheap pass); True means "read the field"."""
        _name, value = key
        return not self._screen.surely_clean((value,), fields=True) or has_typo((value,))

    def _field(self, key: tuple[str, str]) -> _FieldResult:
        name, value = key
        found, exempt = self._screen.matches(value, kind=FIELD_KINDS.get(name))
        return _FieldResult(
            frozenset(m.category for m in found),
            frozenset(exempt),
            frozenset((m.category, m.key) for m in found),
        )

    def _derived(self, name: str, value: str, sources: Mapping[str, str]) -> _FieldResult:
        """A derived field (a town taken from the address, a salutation made from the name) read with
        its source: a match in the value that the source holds as a place or a name ("South
        Christian", the town of "..., South Christian, NW10 1TR") is no finding; whatever the source
        itself carries counts for the derived field too (fails closed)."""
        own = self._fields.get((name, value), self._field)
        source_name = DERIVED_FIELDS.get(name)
        source_value = sources.get(source_name) if source_name is not None else None
        if source_name is None or not source_value:
            return own
        source = self._fields.get((source_name, source_value), self._field)
        kept = frozenset((category, key) for category, key in own.found if key not in source.exempt)
        return _FieldResult(
            frozenset(category for category, _key in kept) | source.categories,
            own.exempt | source.exempt,
            kept | source.found,
        )

    # -- the template, once per run -----------------------------------------------------

    def check_template(self, source: str) -> None:
        """Refuse a template whose own text carries sensitive content or a customer's contact details.

        The contact details it does carry (a helpline) belong to nobody in the store; letters
        are not re-checked for them.
        """
        found: set[tuple[str, str]] = set()
        if len(source) > _MAX_LETTER_CHARS:
            raise InputError(f"template is longer than {_MAX_LETTER_CHARS} characters")
        for number, line in enumerate(source.split("\n"), start=1):
            cats = self.categories(line)
            if cats:
                raise InputError(f"template line {number} carries sensitive content ({', '.join(cats)})")
            for kind, value in self.identifiers(line):
                if self._owners.owners(kind, value):
                    raise InputError(f"template line {number} carries a customer's {kind}")
                found.add((kind, value))
        whole = self.categories(source)  # wording split over lines: "sorry for⏎your loss"
        if whole:
            raise InputError(f"template carries sensitive content ({', '.join(whole)})")
        self._template_identifiers = frozenset(found)

    # -- every letter -------------------------------------------------------------------------

    def check(self, letter: Letter) -> tuple[GateReason, ...]:
        """The reasons to withhold ``letter`` (empty: it may go out)."""
        reasons: list[GateReason] = []
        values = letter.values
        if letter.stored_sensitive:
            merged = sorted(f for f in values if f in _MERGED_TEXT)
            if merged:
                reasons.append(GateReason(STORED_ANALYSIS, ",".join(merged)))
        texts = [(name, value) for name, value in values.items() if value and name in _MERGED_TEXT]
        several_lines = False
        shapes = self._shapes
        for name, value in texts:
            pair = (name, value)
            shape = shapes._young.get(pair, _MISSING)  # as in _scan: the young generation without a call
            if shape is _MISSING:
                shape = shapes.get(pair, _shape_of)
            if shape is not None:
                reasons.append(GateReason(shape, name))
            if "\n" in value:
                several_lines = True
        found, identifiers = self._scan(letter.text, frozenset(value.strip() for _name, value in texts))
        if found or several_lines or any(self._suspects.get(pair, self._suspect) for pair in texts):
            # which fields carry it, which words they hold as names or places; a value over
            # several lines is read whole
            by_category: dict[str, set[str]] = {}
            exempt: set[str] = set()
            for name, value in texts:
                checked = (
                    self._derived(name, value, letter.sources)
                    if name in _DERIVED_TEXT
                    else self._fields.get((name, value), self._field)
                )
                exempt |= checked.exempt
                for category in checked.categories:
                    by_category.setdefault(category, set()).add(name)
            for category, key in found:
                if key not in exempt:
                    by_category.setdefault(category, set())
            for category in sorted(by_category):
                fields = by_category[category]
                reasons.append(GateReason(category, ",".join(sorted(fields)) if fields else LETTER))
        if identifiers:
            reasons.extend(self._foreign(letter, tuple(identifiers)))
        return tuple(reasons)

    def _foreign(self, letter: Letter, identifiers: Sequence[tuple[str, str]]) -> Iterator[GateReason]:
        template = self._template_identifiers
        pending = [ident for ident in identifiers if ident not in template]
        if not pending:
            return
        own: set[tuple[str, str]] = set()
        for name in ("email", "phone"):
            value = letter.values.get(name)
            if value:
                try:
                    own.add((name, self._normalise_contact(name, value)))
                except InputError:
                    own.update(self.identifiers(value))
        pending = [ident for ident in pending if ident not in own]
        if not pending:
            return
        in_free_text = {
            ident
            for name, value in letter.values.items()
            if name in _MERGED_TEXT
            for ident in self.identifiers(value)
        }
        seen: set[str] = set()
        for ident in pending:
            owners = self._owners.owners(*ident)
            foreign = bool(owners) and letter.pseudonym not in owners
            stray = ident in in_free_text and letter.pseudonym not in owners and _dialable(ident)
            if not (foreign or stray):
                continue
            field = self._field_of(letter.values, partial(self._has_identifier, ident))
            key = f"{ident[0]}:{field}"
            if key not in seen:
                seen.add(key)
                yield GateReason(FOREIGN_IDENTIFIER, field)

    def _normalise_contact(self, kind: str, value: str) -> str:
        return normalise_email(value) if kind == "email" else normalise_phone(value, self._region)

    def _has_identifier(self, ident: tuple[str, str], value: str) -> bool:
        return ident in self.identifiers(value)

    @staticmethod
    def _field_of(values: Mapping[str, str], hit: Callable[[str], bool]) -> str:
        fields = sorted(name for name, value in values.items() if value and hit(value))
        return ",".join(fields) if fields else LETTER


@lru_cache(maxsize=4096)
def _dialable(ident: tuple[str, str]) -> bool:
    """Whether an identifier found in a name or an address is a contact detail for the stray rule:
    every e-mail address, and a phone number that is a valid number or has ten digits or more after
    its country code (the numbers people write: 07700 900123, 0161 496 0000, (503) 555-0100).  A
    shorter number that is merely possible is a postcode read with the default region's prefix: a
    ZIP+4 code (97201-1234), a Brazilian CEP (01310-100), a Japanese postcode (100-0001).  Another
    customer's number is found by its owner whatever its length."""
    kind, value = ident
    if kind != "phone":
        return True
    import phonenumbers

    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return True  # not read: counted, as before (fails closed)
    return len(str(number.national_number)) >= _DIALABLE_DIGITS or bool(phonenumbers.is_valid_number(number))


_DIALABLE_DIGITS: Final = 10


_DERIVED_TEXT: Final = frozenset({"salutation", "first_name", "city"})
#: The merged fields whose values are free text or made from it (checked whole, shape, stored analysis).
_MERGED_TEXT: Final = FREE_TEXT_FIELDS | _DERIVED_TEXT


class OpenGate:
    """A gate that lets everything out: for benchmarks measuring the gate's cost, never for exports."""

    def check(self, letter: Letter) -> tuple[GateReason, ...]:
        return ()


class StaticOwners:
    """:class:`IdentifierOwners` from a fixed mapping ``{(kind, normalised value): pseudonyms}`` (tests)."""

    def __init__(self, owners: Mapping[tuple[str, str], frozenset[str]] | None = None) -> None:
        self._owners = dict(owners or {})
        self.lookups = 0

    def owners(self, kind: str, value: str) -> frozenset[str]:
        self.lookups += 1
        return self._owners.get((kind, value), frozenset())
