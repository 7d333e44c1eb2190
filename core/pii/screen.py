"""A fast screen for sensitive content: the sensitive-category term lists, no NLP.

Used where the full analyser would be too slow or where only sensitive
content matters: a customer's own text fields at import (a broker list that
carries "Daughter Killed in Car Crash" in the name line is flagged then, not
at mailing time), and the outbound gate over every rendered letter.  The same
term lists and compiled patterns as :class:`~core.pii.recognizers.sensitive.SensitiveRecognizer`
(one alternation per language), matched on the text's skeleton
(:func:`core.pii.normaliser.skeleton`: look-alikes, spacing, leetspeak and
Traditional Chinese folded), with offsets mapped back to the original.

A match is not a finding when it is part of a real name or place:

* followed by a street type (Hospital Road, Hospice Way, Cemetery Road, 康复路)
  or preceded by a foreign street word (Via Roma);
* one capitalised word that is a place of the shipped gazetteer (Roma,
  Gravesend), unless the pattern itself asked for a people context;
* in a name field (``kind="name"``), one capitalised word that is a known given
  name or family name (Sick, Dies, Graves).

Customer fields are also checked for their shape (:mod:`core.pii.field_shape`):
extra text in a name or address puts the customer under review with a
category-level reason (``name_extra_text:bereavement``), never the text.
"""

from __future__ import annotations

import json
import re
import threading
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Final

from core.pii import address_words
from core.pii.analysis import Analysis, Finding, sensitive_type
from core.pii.ascii_twin import ascii_twin
from core.pii.field_shape import KINSHIP, STREET_TYPES, check_field
from core.pii.language import detect_language, has_cjk
from core.pii.normaliser import NormalisedText, fold_words, skeleton_texts, skeletons
from core.pii.recognizers.sensitive_terms_en import TERMS_EN
from core.pii.recognizers.sensitive_terms_zh import TERMS_ZH
from core.pii.terms import SENSITIVE_SCORE, TermMatcher, TermPrefilter, compile_terms

NAME_KIND: Final = "name"
ADDRESS_KIND: Final = "address"
#: Closed-class words after which a line cannot end a phrase (see ``_proper``).
_RUNS_ON: Final = frozenset(
    "a an the in into at on to of from by for with about and or but nor my his her its our your their".split()
)
#: Which kind of customer field each field is (for the name and place exemptions).
FIELD_KINDS: Final[Mapping[str, str]] = {
    "full_name": NAME_KIND,
    "first_name": NAME_KIND,
    "last_name": NAME_KIND,
    "salutation": NAME_KIND,
    "postal_address": ADDRESS_KIND,
    "city": ADDRESS_KIND,
}
REVIEW_REASON_CHARS: Final = 64
SENSITIVE_FIELD: Final = "sensitive_field"

#: Words that name a building or an institution rather than a way: "Cancer Centre", "Rehab Clinic",
#: "Christian Mission" name a place of care or of worship, not a street, so a term before them is
#: never exempted as a street's name (the shape check still counts them as address words).
_FACILITY_WORDS: Final = frozenset(
    "centre center centres centers centreway clinic unit ward home house hall station mission lodge "
    "retreat rest camp village villages club union unions reserve manor manors towers tower block mall".split()
)
#: The types of a way, of many countries (core.pii.address_words): in an address, a capitalised term
#: before one, or a street's name running to one in capitalised words, is the street's name.  (Any
#: text's own exemption, :data:`_STREET_AFTER`, keeps its short list: "wheelchair access" in a note is
#: no street.)
_THOROUGHFARES: Final = STREET_TYPES - _FACILITY_WORDS
_STREET_AFTER: Final = re.compile(
    r" ?(?:road|rd|street|st|lane|ln|way|avenue|ave|close|drive|dr|place|pl|court|ct|crescent|terrace|"
    r"hill|grove|gardens|park|square|sq|row|walk|mews|view|green|rise|parade|boulevard|blvd|highway|"
    r"circle|path|alley|wharf|quay|yard|gate|bridge|cottages|villas|heights|estates?|industrial estate|"
    r"oval|thoroughfare|ville)"
    r"(?![\w'])|[路街巷弄]|大道|胡同|小区"
    # an autonomous region, prefecture, county or banner named after its peoples: 宁夏回族自治区,
    # 恩施土家族苗族自治州 (the place's name, not a person's ethnicity)
    # (族 itself is no character of a people's name here, and the repeat is possessive: linear)
    r"|(?:[\u4e00-\u65ce\u65d0-\u9fff]{1,4}族)*+自治[区州县旗]"
)
_WORDS: Final = re.compile(r"[^\W\d_]+")
_STREET_BEFORE_WORDS: Final = address_words.street_words_before() | frozenset(
    "via viale piazza piazzale corso largo rue avenue boulevard calle avenida plaza rua strada ulica ul".split()
)
_STREET_BEFORE: Final = re.compile(
    r"(?:^|[^\w'])(?:"
    + "|".join(re.escape(word) for word in sorted(_STREET_BEFORE_WORDS, key=len, reverse=True))
    + r") (?:(?:de|del|della|di|da|do|dos|das|des|du|la|le) )?$"
)
_STREET_NAME_WORDS: Final = 3
"""The most words after a term that a street's name may hold before its street type."""


def _street_named(after: list[str]) -> bool:
    """Whether ``after`` (the words after a capitalised term, in one part of an address) runs on
    in capitalised words to a street type: the term begins the street's name."""
    for word in after:
        low = word.rstrip(".").lower()
        if low in _THOROUGHFARES and word[:1].isupper():
            return True  # a capitalised street type: "Christian Spur", "Church Dip", "Michael Part"
        if not (word.isalpha() and word.istitle()) or low in KINSHIP or low in _RUNS_ON:
            return False
    return False


def _part_end(text: str, start: int) -> int:
    """Where the part of an address that holds ``start`` ends (a comma, a semicolon, a line break)."""
    ends = [i for i in (text.find(sep, start) for sep in ",;\n") if i >= 0]
    return min(ends) if ends else len(text)


#: A state or region code and/or a postcode, nothing else: what follows a town in an address.
_REGION_OR_POSTCODE: Final = re.compile(
    r"(?:[A-Z]{2,3}\s{1,3})?[A-Z0-9]{1,5}(?:[\s\-][A-Z0-9]{1,4})?|[A-Z]{2,3}"
)
#: Words that begin a place's name before a person's name (New Christian, Port Elizabeth).
_PLACE_PREFIXES: Final = address_words.town_prefixes() | frozenset(
    "new north south east west port fort mount mt lake saint st upper lower great little old".split()
)


@dataclass(frozen=True, slots=True)
class Match:
    """One term match: its category, original offsets and the skeleton text it matched."""

    category: str
    start: int
    end: int
    key: str = field(repr=False)  # matched text: never in a repr


class SensitiveScreen:
    """Finds sensitive-category spans with two compiled regular expressions."""

    _shared: SensitiveScreen | None = None
    _lock = threading.Lock()

    # Each compiled table is built on its first use (about 0.45 s for all six): a bulk import of
    # names and addresses without Chinese and without any term literal needs only _en_filter.

    @cached_property
    def _en(self) -> re.Pattern[str]:
        return compile_terms(TERMS_EN, word_bounded=True)

    @cached_property
    def _zh(self) -> re.Pattern[str]:
        return compile_terms(TERMS_ZH, word_bounded=False)

    @cached_property
    def _en_filter(self) -> TermPrefilter:
        return TermPrefilter(TERMS_EN, word_bounded=True)

    @cached_property
    def _zh_filter(self) -> TermPrefilter:
        return TermPrefilter(TERMS_ZH)

    # the patterns tried only around their literals: every match finditer finds, at a fraction
    # of the cost when a common literal ("this", "her") occurs (core.pii.terms.TermMatcher)

    @cached_property
    def _en_matcher(self) -> TermMatcher:
        return TermMatcher(TERMS_EN, word_bounded=True)

    @cached_property
    def _zh_matcher(self) -> TermMatcher:
        return TermMatcher(TERMS_ZH, word_bounded=False)

    @classmethod
    def shared(cls) -> SensitiveScreen:
        with cls._lock:
            if cls._shared is None:
                cls._shared = cls()
            return cls._shared

    def matches(
        self, text: str, *, kind: str | None = None, norms: tuple[NormalisedText, ...] | None = None
    ) -> tuple[list[Match], set[str]]:
        """Term matches in ``text`` and the skeleton keys exempted as names or places.

        ``kind`` is the kind of customer field (:data:`FIELD_KINDS`) or None for any text;
        ``norms`` is ``skeletons(text)`` when the caller has it already.
        """
        out: list[Match] = []
        exempt: set[str] = set()
        seen: set[tuple[int, int, str]] = set()
        for norm in norms if norms is not None else skeletons(text):
            matchers = [self._en_matcher]
            if has_cjk(norm.text):
                matchers.append(self._zh_matcher)
            for view in (norm.text, *norm.variants):
                for matcher in matchers:
                    for match in matcher.matches(view):
                        category = match.lastgroup
                        if category is None:
                            continue
                        key = match.group(0)
                        start, end = norm.to_original(match.start(), match.end())
                        if (start, end, category) in seen:
                            continue
                        seen.add((start, end, category))
                        if self._street(view, match.start(), match.end()) or self._proper(
                            norm, text, key, start, end, kind
                        ):
                            exempt.add(key)
                            continue
                        out.append(Match(category, start, end, key))
        return out, exempt

    def view_matches(self, view: str) -> list[tuple[str, str]]:
        """(category, key) of the term matches in ``view``, text that is already a skeleton.

        For the outbound gate's line joints, built from the skeletons of two lines; the street
        exemption applies, offsets are not kept.
        """
        out: list[tuple[str, str]] = []
        candidates = [(self._en, self._en_filter)]
        if has_cjk(view):
            candidates.append((self._zh, self._zh_filter))
        for pattern, prefilter in candidates:
            if not prefilter.may_match(view):
                continue
            for match in pattern.finditer(view):
                if match.lastgroup is not None and not self._street(view, match.start(), match.end()):
                    out.append((match.lastgroup, match.group(0)))
        return out

    def findings(self, text: str, *, kind: str | None = None) -> tuple[Finding, ...]:
        found, _exempt = self.matches(text, kind=kind)
        return tuple(
            Finding(sensitive_type(m.category), m.category, m.start, m.end, SENSITIVE_SCORE) for m in found
        )

    @classmethod
    def exempted(cls, norm: NormalisedText, text: str, view: str, start: int, end: int) -> bool:
        """Whether the match ``view[start:end]`` is part of a street name or is a place (any text)."""
        if cls._street(view, start, end):
            return True
        o_start, o_end = norm.to_original(start, end)
        return cls._proper(norm, text, view[start:end], o_start, o_end, None)

    @staticmethod
    def _street(view: str, start: int, end: int) -> bool:
        last = view[max(start, view.rfind(" ", start, end) + 1) : end]
        if last in _RUNS_ON:  # a match that ends in "of", "in", "the" runs on: "exor of Estate"
            return False
        if _STREET_AFTER.match(view, end) is not None:
            return True
        return _STREET_BEFORE.search(view, max(0, start - 16), start) is not None

    @staticmethod
    def _proper(norm: NormalisedText, text: str, key: str, start: int, end: int, kind: str | None) -> bool:
        """In a name field, one capitalised word that is a known name; in an address, a place.

        Only in customer fields (``kind``), and only where the field holds more than the word:
        a name field reading just "Rip" is not a name.  A place counts when it is a whole part
        of the address (between commas or lines, postcode letters aside): "Via Roma 9, Roma",
        "Main Street, Accident, MD", but not "Back in Rehab"; when it begins a street's name
        ("Cancer Research Way": capitalised words up to a street type); or when it is a known
        personal name after a place prefix ("New Christian", as "Port Elizabeth").
        """
        if kind is None or " " in key or not key.isalpha() or not key.isascii():
            return False
        word = text[start:end]
        if len(norm.text.split()) < 2 or unicodedata.normalize("NFKC", word).lower() != key:
            return False  # a word in disguise (look-alikes, invisible characters) is no name
        if not (word[:1].isupper() and (word[1:].islower() or text.isupper())):
            return False  # "Ann Lee RIP": an abbreviation, not a name
        from core.pii.gazetteer import gazetteer, is_known_name

        if kind == NAME_KIND:
            return is_known_name(key)
        if kind != ADDRESS_KIND:
            return False
        seg_start = max(text.rfind(sep, 0, start) for sep in ",;\n") + 1
        seg_end = _part_end(text, end)
        segment = text[seg_start:seg_end]
        if _street_named(text[end:seg_end].split()[:_STREET_NAME_WORDS]):
            return True  # a street named with it: "1 Cancer Research Way"
        before_word = text[seg_start:start].split()
        if (
            len(before_word) == 1
            and before_word[0].istitle()
            and before_word[0].lower() in _PLACE_PREFIXES
            and not text[end:seg_end].strip()
            and _REGION_OR_POSTCODE.fullmatch(text[seg_end + 1 : _part_end(text, seg_end + 1)].strip())
            is not None
        ):
            # a town named after a person (New Christian, Port Elizabeth): a known name after a
            # capitalised place prefix, the two a part of the address of their own, where the town
            # stands, before its state or postcode ("…, New Christian, MP 57987"); "…, New Muslim"
            # at the end, or before a town, is no place
            return is_known_name(key)
        others = [w for w in _WORDS.findall(segment) if not (w.isupper() and len(w) <= 3)]
        if others != [word] or gazetteer().kind(key) is None:
            return False
        # A line that ends on a word which needs a continuation (a preposition, an article, a
        # conjunction, a possessive) runs on into this one: "back in⏎Rehab" is one phrase, not a
        # town on its own line.
        before = fold_words(text[:seg_start]).split()  # the skeleton: "i\u200bn" reads "in"
        return not (text[seg_start - 1 : seg_start] == "\n" and before and before[-1] in _RUNS_ON)

    def surely_clean(self, texts: Iterable[str]) -> bool:
        """True only when no text holds a finding: one cheap pass over all of them.

        Exact for texts without Chinese (a customer's name and address, nearly
        always): no Chinese pattern can match them, and if no required literal
        of an English term occurs in a text's skeleton, no term matches it.
        A text is read as its ASCII twin when it has one (:func:`core.pii.ascii_twin.ascii_twin`:
        accented Latin letters folded one for one; the same skeleton, found on the ASCII path);
        the twins are read in one pass, joined by " ; " (which ends a spelled-out run, so no
        text's match is hidden); other texts one by one.
        False means "look with :meth:`findings`", not "found".
        """
        may_match = self._en_filter.may_match
        twins: list[str] = []
        others: list[str] = []
        for text in texts:
            twin = ascii_twin(text)
            if twin is None:
                others.append(text)
            else:
                twins.append(twin)
        if twins:  # ASCII: its skeletons are ASCII too, where no Chinese pattern can match
            for view in skeleton_texts(twins[0] if len(twins) == 1 else " ; ".join(twins)):
                if may_match(view):
                    return False
        for text in others:
            for norm in skeletons(text):
                if has_cjk(norm.text):
                    return False
                if may_match(norm.text) or any(may_match(view) for view in norm.variants):
                    return False
        return True

    def analyse(self, text: str) -> Analysis:
        """An :class:`Analysis` holding only sensitive findings (identifiers are not looked for)."""
        return Analysis.build(language=detect_language(text), findings=self.findings(text))


class CustomerFieldScreen:
    """Implements :class:`core.store.FieldScreen` for a customer's name and address.

    The fields are personal by definition; the screen asks whether they also
    carry sensitive content (the term lists, with the name and place
    exemptions) or more than a name or an address (:mod:`core.pii.field_shape`).
    Either makes the level ``sensitive``.  The stored analysis is JSON keyed by
    field (offsets and labels, never text), plus the category-level review
    reason under :data:`REVIEW_KEY` (read back with :func:`review_reason_of`).
    """

    def __init__(self, screen: SensitiveScreen | None = None) -> None:
        self._screen = screen or SensitiveScreen.shared()

    def screen_fields(self, values: Mapping[str, str]) -> tuple[str, bytes | None]:
        shape = {name: problem for name, value in values.items() if (problem := check_field(name, value))}
        rejoined = {name: pair for name, value in values.items() if (pair := rejoin_lines(value))}
        if not shape and self._screen.surely_clean([*values.values(), *(j for j, _ in rejoined.values())]):
            return "personal", None
        found = {
            name: self._screen.findings(value, kind=FIELD_KINDS.get(name)) for name, value in values.items()
        }
        for name, (joined, positions) in rejoined.items():
            # a word broken over two lines of the field ("alzhe⏎imers"): read as one, offsets
            # mapped back to the original characters
            extra = [
                replace(f, start=positions[f.start], end=positions[f.end - 1] + 1)
                for f in self._screen.findings(joined, kind=FIELD_KINDS.get(name))
            ]
            spans = {(f.start, f.end) for f in found[name]}
            found[name] += tuple(f for f in extra if (f.start, f.end) not in spans)
        if not shape and not any(found.values()):
            return "personal", None  # the common case: nothing to store beyond the level
        doc: dict[str, object] = {
            name: Analysis.build(language=detect_language(values[name]), findings=findings).to_dict()
            for name, findings in found.items()
            if findings
        }
        categories = {f.category for findings in found.values() for f in findings}
        doc[REVIEW_KEY] = review_reason(shape.values(), categories)
        return "sensitive", json.dumps(doc, ensure_ascii=False).encode()


REVIEW_KEY: Final = "_review"


def _same_case_letters(before: str, after: str) -> bool:
    return (before.islower() and after.islower()) or (before.isupper() and after.isupper())


def rejoin_lines(text: str) -> tuple[str, list[int]] | None:
    """``text`` with each line break inside a word removed, and each of its characters' offsets
    in ``text``; None when no line break falls between two letters of the same case.

    A customer field broken inside a word (``alzhe⏎imers``, ``bank⏎rupt``, ``R⏎IP``) hides the
    word from the term lists; a line break of a real address mostly stands before a capital after
    a small letter, or before a digit (``Oak Road⏎Bristol``), and where it does not (``OAK
    ROAD⏎BRISTOL``) the joined word is only a second reading, matched as a whole word.  Spaces
    and tabs around the break go with it.  Linear: each line break looks at the spaces beside it
    once.
    """
    if "\n" not in text:
        return None
    keep = [True] * len(text)
    found = False
    size = len(text)
    for brk in (i for i, ch in enumerate(text) if ch == "\n"):
        left = brk
        while left > 0 and text[left - 1] in " \t\r":
            left -= 1
        right = brk + 1
        while right < size and text[right] in " \t":
            right += 1
        if left > 0 and right < size and _same_case_letters(text[left - 1], text[right]):
            for i in range(left, right):
                keep[i] = False
            found = True
    if not found:
        return None
    positions = [i for i in range(size) if keep[i]]
    return "".join(text[i] for i in positions), positions


def review_reason(problems: Iterable[str], categories: Iterable[str]) -> str:
    """A category-level review reason: ``name_extra_text:bereavement,accident`` (at most 64 characters).

    Shape problems first (``name_extra_text``, ``address_extra_text``; ``sensitive_field`` when only
    terms were found), then the sensitive categories; never any matched text.
    """
    head = "+".join(sorted(set(problems))) or SENSITIVE_FIELD
    reason = head
    for i, category in enumerate(sorted(set(categories))):
        candidate = f"{reason}{':' if i == 0 else ','}{category}"
        if len(candidate) > REVIEW_REASON_CHARS:
            break
        reason = candidate
    return reason


def review_reason_of(analysis: bytes | None) -> str:
    """The review reason stored by :meth:`CustomerFieldScreen.screen_fields` (a generic one if absent)."""
    fallback = "sensitive content in a customer field"
    if not analysis:
        return fallback
    try:
        doc = json.loads(analysis)
    except ValueError:
        return fallback
    reason = doc.get(REVIEW_KEY) if isinstance(doc, dict) else None
    return reason if isinstance(reason, str) and reason else fallback
