"""Masking on the way out: operators as plugins, applied to STORED spans (no NLP).

Operators live in a name-keyed :class:`OperatorRegistry`; each declares the
frozen dataclass of its parameters, so a policy is checked when it is built,
not when a letter is rendered.  Scopes: ``span`` operators rewrite the finding's
characters (``tag``, ``partial``, ``hash``, ``redact``); ``clause`` withholds the
clause that carries the finding together with its subject, keeping the other clauses
of the sentence (``withhold``, the export policy's choice for sensitive facts; see
:meth:`_Clauses.withheld` for how the subject is found without NLP);
``sentence`` withholds every sentence a finding touches (``drop_sentence``);
``note`` drops the whole note (``drop_note``: :func:`mask` returns ``None``).
Withheld text is never deleted silently: a marker naming its categories stands in
its place (``[withheld: bereavement]``).

Overlapping spans are merged; the merged span takes the strongest span operator
(redact > hash > tag > partial) and the type of its most sensitive finding.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from abc import ABC, abstractmethod
from bisect import bisect_left, bisect_right
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar, Final, Literal

from core.errors import ConfigError, InputError
from core.pii.analysis import IDENTIFIER, QUASI_IDENTIFIER, SENSITIVE_CATEGORIES, Analysis, Finding

Scope = Literal["span", "clause", "sentence", "note"]
#: What stands where text was withheld: never a silent deletion.  ``{categories}`` lists the sensitive
#: categories of the withheld text ("[withheld: bereavement]").
WITHHELD_MARKER: Final = "[withheld: {categories}]"


class OperatorParams:
    """Marker base of every operator's typed parameters (frozen dataclasses)."""


@dataclass(frozen=True, slots=True)
class TagParams(OperatorParams):
    template: str = "<{type}>"


@dataclass(frozen=True, slots=True)
class PartialParams(OperatorParams):
    keep_start: int = 0
    keep_end: int = 2
    mask_char: str = "*"


@dataclass(frozen=True, slots=True)
class HashParams(OperatorParams):
    length: int = 16
    prefix: str = "#"


@dataclass(frozen=True, slots=True)
class RedactParams(OperatorParams):
    replacement: str = ""


@dataclass(frozen=True, slots=True)
class DropSentenceParams(OperatorParams):
    marker: str = WITHHELD_MARKER


@dataclass(frozen=True, slots=True)
class WithholdParams(OperatorParams):
    marker: str = WITHHELD_MARKER


@dataclass(frozen=True, slots=True)
class DropNoteParams(OperatorParams):
    pass


class Operator(ABC):
    name: ClassVar[str]
    scope: ClassVar[Scope]
    params_type: ClassVar[type[OperatorParams]]
    strength: ClassVar[int] = 0

    def replace(self, value: str, *, entity_type: str, params: OperatorParams, hash_key: bytes) -> str:
        """The text that replaces ``value`` (span operators only)."""
        raise NotImplementedError(f"operator {self.name} does not replace spans")


class SpanOperator(Operator, ABC):
    scope: ClassVar[Scope] = "span"

    @abstractmethod
    def replace(self, value: str, *, entity_type: str, params: OperatorParams, hash_key: bytes) -> str: ...


class TagOperator(SpanOperator):
    name = "tag"
    params_type = TagParams
    strength = 2

    def replace(self, value: str, *, entity_type: str, params: OperatorParams, hash_key: bytes) -> str:
        assert isinstance(params, TagParams)
        return params.template.format(type=entity_type)


class PartialOperator(SpanOperator):
    name = "partial"
    params_type = PartialParams
    strength = 1

    def replace(self, value: str, *, entity_type: str, params: OperatorParams, hash_key: bytes) -> str:
        assert isinstance(params, PartialParams)
        n = len(value)
        head = min(params.keep_start, n)
        tail = min(params.keep_end, n - head)
        # never reveal more than a third of the value
        while head + tail > n // 3 and (head or tail):
            if tail >= head:
                tail -= 1
            else:
                head -= 1
        middle = "".join(c if c.isspace() else params.mask_char for c in value[head : n - tail])
        return value[:head] + middle + value[n - tail :]


class HashOperator(SpanOperator):
    name = "hash"
    params_type = HashParams
    strength = 3

    def replace(self, value: str, *, entity_type: str, params: OperatorParams, hash_key: bytes) -> str:
        assert isinstance(params, HashParams)
        if len(hash_key) < 16:
            raise ConfigError("the masking hash key must be at least 16 bytes")
        digest = hmac.new(
            hash_key, f"{entity_type}\x00{value.casefold()}".encode(), hashlib.sha256
        ).hexdigest()
        return params.prefix + digest[: params.length]


class RedactOperator(SpanOperator):
    name = "redact"
    params_type = RedactParams
    strength = 4

    def replace(self, value: str, *, entity_type: str, params: OperatorParams, hash_key: bytes) -> str:
        assert isinstance(params, RedactParams)
        return params.replacement


class DropSentenceOperator(Operator):
    name = "drop_sentence"
    scope: ClassVar[Scope] = "sentence"
    params_type = DropSentenceParams
    strength = 5


class WithholdOperator(Operator):
    """Withholds the clause that carries a sensitive fact with its subject (which may stand in an
    earlier clause), keeps the other clauses, and leaves a marker with the category."""

    name = "withhold"
    scope: ClassVar[Scope] = "clause"
    params_type = WithholdParams
    strength = 5


class DropNoteOperator(Operator):
    name = "drop_note"
    scope: ClassVar[Scope] = "note"
    params_type = DropNoteParams
    strength = 6


class OperatorRegistry:
    """Name-keyed operators; register a new plugin with :meth:`register`."""

    def __init__(self, operators: tuple[Operator, ...] = ()) -> None:
        self._ops: dict[str, Operator] = {}
        for op in operators:
            self.register(op)

    def register(self, operator: Operator) -> None:
        if operator.name in self._ops:
            raise ConfigError(f"operator {operator.name!r} is registered already")
        self._ops[operator.name] = operator

    def get(self, name: str) -> Operator:
        try:
            return self._ops[name]
        except KeyError:
            raise ConfigError(f"unknown masking operator {name!r}") from None

    def names(self) -> tuple[str, ...]:
        return tuple(sorted(self._ops))


def default_registry() -> OperatorRegistry:
    return OperatorRegistry(
        (
            TagOperator(),
            PartialOperator(),
            HashOperator(),
            RedactOperator(),
            DropSentenceOperator(),
            WithholdOperator(),
            DropNoteOperator(),
        )
    )


OPERATORS: Final = default_registry()


@dataclass(frozen=True, slots=True)
class Action:
    """An operator name with its typed parameters (checked against the registry)."""

    operator: str
    params: OperatorParams

    def __post_init__(self) -> None:
        expected = OPERATORS.get(self.operator).params_type
        if not isinstance(self.params, expected):
            raise ConfigError(f"operator {self.operator!r} takes {expected.__name__}")


TAG: Final = Action("tag", TagParams())
DROP_SENTENCE: Final = Action("drop_sentence", DropSentenceParams())
WITHHOLD: Final = Action("withhold", WithholdParams())


@dataclass(frozen=True, slots=True)
class MaskPolicy:
    """Which action applies to a finding: by type first, then by category, else ``default``.

    Findings scoring below ``min_score`` are left alone.
    """

    by_type: Mapping[str, Action] = field(default_factory=dict)
    by_category: Mapping[str, Action] = field(default_factory=dict)
    default: Action = TAG
    min_score: float = 0.0

    def action_for(self, finding: Finding) -> Action:
        action = self.by_type.get(finding.type)
        if action is None:
            action = self.by_category.get(finding.category, self.default)
        return action


#: The export policy: what ``hushdb pii mask`` prints, masked note reads show and mail-merge applies.
#: A sensitive fact is withheld with its clause and its subject, behind a marker such as
#: ``[withheld: bereavement]``; the other clauses (an instruction, what happened before) stay.
#: Identifiers and quasi-identifiers become type tags such as ``<PERSON>``.
EXPORT_POLICY: Final = MaskPolicy(
    by_category={
        **{c: WITHHOLD for c in SENSITIVE_CATEGORIES},
        IDENTIFIER: TAG,
        QUASI_IDENTIFIER: TAG,
    },
    default=TAG,
)

_ABBREV: Final = re.compile(
    r"(?:^|\s)(?:Mr|Mrs|Ms|Mx|Dr|Prof|St|Rd|Ave|No|vs|etc|e\.g|i\.e|approx|Jr|Sr|Ltd|Inc)\.$"
)
#: Where a sentence ends: a full stop, ! or ? before a space, ! or ? before a Chinese character (half-width
#: marks in Chinese text), Chinese terminators, a line break, and before a forwarded post's mark ``//@`` (a
#: social-media repost quotes another author's message after it).
_TERMINATOR: Final = re.compile(r"[.!?]+(?=\s|$)|[!?]+(?=[\u3400-\u9fff])|[。！？；;]+|\n+|(?<=\S)(?=//@)")
_MULTISPACE: Final = re.compile(r"[ \t]{2,}")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Sentence boundaries [start, end), terminators included; abbreviations do not end sentences."""
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _TERMINATOR.finditer(text):
        if m.end() <= start or (
            m.group(0).startswith(".") and _ABBREV.search(text[max(start, m.start() - 8) : m.end()])
        ):
            continue
        spans.append((start, m.end()))
        start = m.end()
    if start < len(text):
        spans.append((start, len(text)))
    return spans


def _rank(f: Finding) -> int:
    return 2 if f.category in SENSITIVE_CATEGORIES else 1 if f.category == IDENTIFIER else 0


#: Where a clause ends inside a sentence: a comma (not the one inside a number such as 1,500), a colon, a
#: mid-sentence ! or ?, a dash between spaces; full-width ，：！？ and ——.  The mark stays with the clause
#: it ends.  The enumeration comma 、 separates the items of one list, not clauses, and ends nothing.
_CLAUSE_END: Final = re.compile(r"(?<!\d),|,(?!\d)|[:!?，：！？]|\s[—–-]{1,2}\s|——")
_TRAILING: Final = ".!?。！？；;\n\r\t \u3000"

# What opens a clause whose subject is in it, read from the clause's first words: closed grammatical
# classes only (pronouns, possessive and other determiners, titles, conjunctions), never content words.
_EN_LEAD: Final = (
    r"(?:(?:and|but|so|or|yet|nor|because|since|as|although|though|while|when|whereas|if|unless|"
    r"after|before|until|once)\s++)?"
)
#: Nominative personal pronouns: the subject of a new clause, never an appositive of a noun before it.
_EN_PRONOUN: Final = r"(?:i|he|she|we|they|you)\b"
#: A noun phrase (possible subject) by its opening: a pronoun, a possessive, a determiner, a title.  The
#: possessive's word is read up to 40 letters: a clause opening with a run of thousands of letters (Chinese
#: without spaces) costs constant time per clause, not the run's length (a longer word is no possessive:
#: the clause then goes with the one before, fails closed).
_EN_PHRASE: Final = (
    rf"(?:{_EN_PRONOUN}|(?:my|your|his|her|its|our|their|the|a|an|this|these|those)\s|"
    r"(?:mr|mrs|ms|miss|mx|dr|prof)\b|[^\W\d_]{1,40}+['’]s\s)"
)
_ZH_LEAD: Final = r"(?:但是|可是|不过|而且|并且|因为|由于|所以|因此|于是|虽然|如果|而|但|并|且)?"
#: Chinese personal pronouns (我们, 他们 ... begin with them), Simplified and Traditional.
_ZH_PRONOUN: Final = r"[我你您他她它咱俺妳祂牠]"
_OPENING: Final = " \t\n\u3000\"'“‘«([（「『《"
# Matched where a clause's opening marks end (see _Clauses._head).  The English words must begin a word,
# so that even a search over a whole text (the ReDoS fuzzer) tries each run of letters once: linear time.
_STRONG: Final = re.compile(rf"(?<![^\W_])(?:{_EN_LEAD}{_EN_PRONOUN})|{_ZH_LEAD}{_ZH_PRONOUN}", re.IGNORECASE)
_PHRASE: Final = re.compile(rf"(?<![^\W_])(?:{_EN_LEAD}{_EN_PHRASE})|{_ZH_LEAD}{_ZH_PRONOUN}", re.IGNORECASE)
#: Entity types that open a clause as its subject when a finding of theirs starts it ("Mary's father …",
#: "王先生上周去世了").
_NAMED: Final = frozenset({"PERSON", "ORGANIZATION"})
#: A clause at most this long (in words, or in characters for text without spaces) that opens like a
#: noun phrase may be part of the subject of the clause after it ("My wife, my son and I were …",
#: "我父亲，他上周…"): it goes with that clause.
SHORT_CLAUSE_WORDS: Final = 3
SHORT_CLAUSE_CHARS: Final = 6
_WORD: Final = re.compile(r"[^\W_]+(?:['’][^\W_]+)?")


def _clauses(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The clauses of the sentence [start, end): each [start, end) with its closing mark left out (the
    last one keeps the sentence's own terminator)."""
    out: list[tuple[int, int]] = []
    pos = start
    body = end
    while body > start and text[body - 1] in _TRAILING:
        body -= 1
    for m in _CLAUSE_END.finditer(text, start, body):
        out.append((pos, m.start()))
        pos = m.end()
    out.append((pos, end))
    return out


def _is_short(text: str, start: int, end: int) -> bool:
    part = text[start:end]
    if any(c.isspace() for c in part.strip()):
        return len(_WORD.findall(part)) <= SHORT_CLAUSE_WORDS
    return len(part.strip()) <= SHORT_CLAUSE_CHARS


class _Clauses:
    """The clauses of one sentence and what their openings say about their subjects.

    Each clause is read once and each answer kept, so a sentence of thousands of clauses costs time
    linear in its length however many findings it holds.
    """

    __slots__ = ("_absorb", "_back", "_ends", "_named", "_text", "clauses")

    def __init__(self, text: str, start: int, end: int, named: frozenset[int]) -> None:
        self._text = text
        self._named = named
        self.clauses = _clauses(text, start, end)
        self._ends = [e for _, e in self.clauses]
        self._back: dict[int, int] = {}
        self._absorb: dict[int, int] = {}

    def index(self, pos: int) -> int:
        """The clause holding position ``pos`` (a closing mark belongs to the clause after it)."""
        return min(bisect_right(self._ends, pos), len(self.clauses) - 1)

    def _head(self, i: int) -> int:
        """Where clause ``i``'s first word begins (after spaces, quotes and opening brackets)."""
        s, e = self.clauses[i]
        part = self._text[s:e]
        return s + len(part) - len(part.lstrip(_OPENING))

    def has_subject(self, i: int) -> bool:
        """The clause opens with a noun phrase: a pronoun, a determiner, a title or a name."""
        head, e = self._head(i), self.clauses[i][1]
        return head in self._named or _PHRASE.match(self._text, head, e) is not None

    def opens_new_subject(self, i: int) -> bool:
        """The clause opens with a personal pronoun (after a conjunction at most): a clause of its own."""
        return _STRONG.match(self._text, self._head(i), self.clauses[i][1]) is not None

    def _back_to_subject(self, i: int) -> int:
        """The nearest clause at or before ``i`` that opens with a personal pronoun, else the first."""
        todo: list[int] = []
        while i not in self._back and i > 0 and not self.opens_new_subject(i):
            todo.append(i)
            i -= 1
        found = self._back.get(i, i)
        for j in (*todo, i):
            self._back[j] = found
        return found

    def _absorbed(self, i: int) -> int:
        """The first clause of the run of short noun-phrase clauses right before ``i`` (``i`` if none)."""
        todo: list[int] = []
        while i not in self._absorb and i > 0 and self._is_short_phrase(i - 1):
            todo.append(i)
            i -= 1
        found = self._absorb.get(i, i)
        for j in (*todo, i):
            self._absorb[j] = found
        return found

    def _is_short_phrase(self, i: int) -> bool:
        return self.has_subject(i) and _is_short(self._text, *self.clauses[i])

    def withheld(self, first: int, last: int) -> tuple[int, int]:
        """The clause holding the subject of the fact in clause ``first``, through clause ``last``.

        If the fact's clause opens with its own subject, it is withheld alone; else the clauses before it
        go too, back to one that opens with a personal pronoun, or to the start of the sentence (so a
        subject in an earlier clause never stays: "Her father, who lived in Leeds, died").  Then a short
        clause before that which opens like a noun phrase goes as well, as it may belong to the subject
        ("My wife, my son and I were in an accident").  Fails closed: what cannot be read as a clause of
        its own goes with the fact.
        """
        i = first if self.has_subject(first) else self._back_to_subject(first)
        return self.clauses[self._absorbed(i)][0], self.clauses[last][1]


class ClauseIndex:
    """The sentences and clauses of one text, for the analyser: where withholding a term's fact would
    begin by clauses alone, and the clause that holds the term (see :mod:`core.pii.zh_fact`).  Each
    sentence is read once, on first use."""

    __slots__ = ("_ends", "_named", "_parsed", "_sentences", "_text")

    def __init__(self, text: str, named: frozenset[int]) -> None:
        self._text = text
        self._named = named
        self._sentences = sentence_spans(text)
        self._ends = [e for _, e in self._sentences]
        self._parsed: dict[int, _Clauses] = {}

    def clause_start(self, pos: int) -> int:
        """The start of the clause that holds ``pos``."""
        k = min(bisect_right(self._ends, pos), len(self._sentences) - 1)
        s, e = self._sentences[k]
        clauses = self._parsed.get(s)
        if clauses is None:
            clauses = self._parsed[s] = _Clauses(self._text, s, e, self._named)
        return clauses.clauses[clauses.index(pos)][0]

    def around(self, start: int, end: int) -> tuple[int, tuple[int, int]] | None:
        """(where the clauses would withhold from, (clause start, clause end)) for a term [start, end)
        inside one clause; ``None`` when it runs over a clause's end."""
        k = bisect_right(self._ends, start)
        if k >= len(self._sentences) or start >= end:
            return None
        s, e = self._sentences[k]
        if end > e:
            return None
        clauses = self._parsed.get(s)
        if clauses is None:
            clauses = self._parsed[s] = _Clauses(self._text, s, e, self._named)
        first, last = clauses.index(start), clauses.index(end - 1)
        if first != last:
            return None
        return clauses.withheld(first, last)[0], clauses.clauses[first]


@dataclass(frozen=True, slots=True)
class _Plan:
    spans: list[tuple[Finding, Operator, OperatorParams]]
    #: merged withheld ranges, each with its categories (in SENSITIVE_CATEGORIES order) and marker template
    withheld: list[tuple[int, int, tuple[str, ...], str]]


def _plan(text: str, analysis: Analysis, policy: MaskPolicy, registry: OperatorRegistry) -> _Plan | None:
    """What the policy does to each finding; ``None`` when it drops the whole note."""
    spans: list[tuple[Finding, Operator, OperatorParams]] = []
    cuts: list[tuple[int, int, str, str]] = []
    sentences: list[tuple[int, int]] | None = None
    parsed: dict[int, _Clauses] = {}
    named: frozenset[int] | None = None
    people: list[int] | None = None
    for f in analysis.findings:
        if f.end > len(text) or f.start < 0 or f.start >= f.end:
            raise InputError("a stored span does not fit the text; re-analyse first")
        if f.score < policy.min_score:
            continue
        action = policy.action_for(f)
        op = registry.get(action.operator)
        if op.scope == "note":
            return None
        if op.scope == "span":
            spans.append((f, op, action.params))
            continue
        marker = getattr(action.params, "marker", WITHHELD_MARKER)
        if sentences is None:
            sentences = sentence_spans(text)
            named = frozenset(g.start for g in analysis.findings if g.type in _NAMED)
        category = f.category if f.category in SENSITIVE_CATEGORIES else f.type.lower()
        for s, e in sentences:
            if not (s < f.end and f.start < e):
                continue
            if op.scope == "clause":
                clauses = parsed.get(s)
                if clauses is None:
                    clauses = parsed[s] = _Clauses(text, s, e, named or frozenset())
                first = clauses.index(max(s, f.start))
                last = clauses.index(min(e, f.end) - 1)
                start, end = clauses.withheld(first, last)
                if f.fact is not None and first == last:
                    if people is None:
                        people = sorted(g.start for g in analysis.findings if g.type in _SOMEONE)
                    start, end = _fact_range(text, clauses.clauses[first], f, (start, end), people)
                if end == e and start > s:  # the sentence goes on before it: its full stop stays
                    while end > start and text[end - 1] in _TRAILING:
                        end -= 1
                cuts.append((start, end, category, marker))
            else:
                cuts.append((s, e, category, marker))
    if cuts and spans:
        cuts = _cover_spans(cuts, spans)
    return _Plan(spans=spans, withheld=_merge_withheld(text, cuts))


#: Findings that name someone who may be the subject of a fact (see _fact_range).
_SOMEONE: Final = frozenset({"PERSON", "ORGANIZATION", "PROPER_NOUN", "NRP"})
_ZH_SOMEONE: Final = re.compile(_ZH_PRONOUN)


def _fact_range(
    text: str, clause: tuple[int, int], f: Finding, withheld: tuple[int, int], people: list[int]
) -> tuple[int, int]:
    """The withheld range narrowed to the fact's extent in its clause (``Finding.fact``, read from the
    Chinese model's words on analysis: see :mod:`core.pii.zh_fact`).

    The start moves forward ("听说[他父亲上周去世了]") only when the text it leaves (from where the clauses
    would withhold) names no one: no Chinese personal pronoun, no name or organisation found there; the
    subject of a Chinese clause may be left out and stand there ("他穿拖鞋上教室被抓", "他打我被抓").  That
    text must lie where the analyser found no word that may be a subject (from ``checked`` on): where the
    clauses here reach further back (sentences read differently), the clauses are withheld as before.
    The end moves back to where a new clause begins inside the clause.  A stored extent that does not
    fit the clause or the term is ignored.  Fails closed: what is uncertain goes with the fact.
    """
    start, end = withheld
    c_end = clause[1]
    fact_start, fact_end, checked = f.fact or (None, None, None)
    if (
        fact_start is not None
        and checked is not None
        and checked <= start < fact_start <= f.start
        and not _someone_in(text, start, fact_start, people)
    ):
        start = fact_start
    if fact_end is not None and f.end <= fact_end < c_end and fact_end < end:
        end = fact_end
    return start, end


def _someone_in(text: str, start: int, end: int, people: list[int]) -> bool:
    """A personal pronoun or a name stands in [start, end)."""
    return _ZH_SOMEONE.search(text, start, end) is not None or bisect_left(people, start) < bisect_left(
        people, end
    )


def _cover_spans(
    cuts: list[tuple[int, int, str, str]], spans: list[tuple[Finding, Operator, OperatorParams]]
) -> list[tuple[int, int, str, str]]:
    """A span finding that begins inside withheld text and runs past its end ("… died at 12 High Street,
    Leeds") is withheld to its end, so no part of it is left unmasked after the marker."""
    starts = sorted((f.start, f.end) for f, _, _ in spans)
    keys = [s for s, _ in starts]
    out: list[tuple[int, int, str, str]] = []
    for s, e, category, marker in cuts:
        grown = e
        for i in range(bisect_left(keys, s), bisect_left(keys, e)):
            grown = max(grown, starts[i][1])
        out.append((s, grown, category, marker))
    return out


def _merge_withheld(
    text: str, cuts: list[tuple[int, int, str, str]]
) -> list[tuple[int, int, tuple[str, ...], str]]:
    merged: list[tuple[int, int, set[str], str]] = []
    for s, e, category, marker in sorted(cuts):
        while s < e and text[s].isspace():  # the space before a withheld sentence stays
            s += 1
        if merged and (s <= merged[-1][1] or _only_marks(text, merged[-1][1], s)):
            last = merged[-1]
            merged[-1] = (last[0], max(last[1], e), last[2] | {category}, last[3])
        else:
            merged.append((s, e, {category}, marker))
    order = {c: i for i, c in enumerate(SENSITIVE_CATEGORIES)}
    return [
        (s, e, tuple(sorted(cats, key=lambda c: (order.get(c, len(order)), c))), marker)
        for s, e, cats, marker in merged
    ]


_MARKS: Final = re.compile(r"[\s,:，：、—–-]*")


def _only_marks(text: str, start: int, end: int) -> bool:
    """Nothing but clause marks and spaces between two withheld ranges: one marker stands for both."""
    return _MARKS.fullmatch(text, start, end) is not None


def mask(
    text: str,
    analysis: Analysis,
    *,
    policy: MaskPolicy,
    hash_key: bytes,
    registry: OperatorRegistry = OPERATORS,
) -> str | None:
    """Apply stored spans; ``None`` when the policy drops the note.  Runs no NLP.

    Withheld text (``withhold``, ``drop_sentence``) is replaced by a visible marker naming its
    categories, so a reader always sees that something was left out and why.
    """
    if not analysis.is_current:
        raise InputError("the analysis was made by another analyser version; re-analyse first")
    plan = _plan(text, analysis, policy, registry)
    if plan is None:
        return None
    if not plan.spans and not plan.withheld:
        return text
    return _render(text, plan, hash_key)


def masked_ranges(text: str, analysis: Analysis, *, policy: MaskPolicy) -> list[tuple[int, int]]:
    """The merged [start, end) ranges of ``text`` that :func:`mask` replaces or withholds under ``policy``
    (the whole text when the policy drops the note).  For measuring what masking keeps."""
    plan = _plan(text, analysis, policy, OPERATORS)
    if plan is None:
        return [(0, len(text))] if text else []
    return _merge([(f.start, f.end) for f, _, _ in plan.spans] + [(s, e) for s, e, _, _ in plan.withheld])


def _render(text: str, plan: _Plan, hash_key: bytes) -> str:
    # cuts: (start, end, replacement); withheld ranges first, then merged spans outside them
    drops = [(s, e) for s, e, _, _ in plan.withheld]
    cuts: list[tuple[int, int, str]] = [
        (s, e, marker.format(categories=", ".join(cats))) for s, e, cats, marker in plan.withheld
    ]
    spans = sorted(plan.spans, key=lambda x: (x[0].start, -x[0].end))
    group: list[tuple[Finding, Operator, OperatorParams]] = []
    group_end = -1
    for item in [*spans, None]:
        if item is not None and group and item[0].start < group_end:
            group.append(item)
            group_end = max(group_end, item[0].end)
            continue
        if group:
            start = group[0][0].start
            if not any(s <= start < e for s, e in drops):
                lead = max(group, key=lambda g: (g[1].strength, _rank(g[0]), g[0].end - g[0].start))
                top = max(group, key=lambda g: (_rank(g[0]), g[0].end - g[0].start))
                value = text[start:group_end]
                cuts.append(
                    (
                        start,
                        group_end,
                        lead[1].replace(value, entity_type=top[0].type, params=lead[2], hash_key=hash_key),
                    )
                )
        if item is not None:
            group = [item]
            group_end = item[0].end
    cuts.sort()
    out: list[str] = []
    pos = 0
    for s, e, rep in cuts:
        if e <= pos:
            continue
        s = max(s, pos)
        out.append(text[pos:s])
        out.append(rep)
        pos = e
    out.append(text[pos:])
    return _MULTISPACE.sub(" ", "".join(out)).strip()


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for s, e in sorted(set(ranges)):
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return merged
