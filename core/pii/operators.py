"""Masking on the way out: operators as plugins, applied to STORED spans (no NLP).

Operators live in a name-keyed :class:`OperatorRegistry`; each declares the
frozen dataclass of its parameters, so a policy is checked when it is built,
not when a letter is rendered.  Scopes: ``span`` operators rewrite the finding's
characters (``tag``, ``partial``, ``hash``, ``redact``); ``clause`` withholds the
clause that carries the finding and what precedes it in its sentence, keeping the
clauses after it (``withhold``, the export policy's choice for sensitive facts);
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
    """Withholds the clause that carries a sensitive fact and everything before it in its sentence
    (so its subject goes too), keeps the clauses after it, and leaves a marker with the category."""

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
#: A sensitive fact is withheld with its clause and whatever precedes it in its sentence (its subject),
#: behind a marker such as ``[withheld: bereavement]``; the clauses after it (an instruction) stay.
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
_TERMINATOR: Final = re.compile(r"[.!?]+(?=\s|$)|[。！？；;]+|\n+")
_MULTISPACE: Final = re.compile(r"[ \t]{2,}")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Sentence boundaries [start, end), terminators included; abbreviations do not end sentences."""
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _TERMINATOR.finditer(text):
        if m.group(0).startswith(".") and _ABBREV.search(text[max(start, m.start() - 8) : m.end()]):
            continue
        spans.append((start, m.end()))
        start = m.end()
    if start < len(text):
        spans.append((start, len(text)))
    return spans


def _rank(f: Finding) -> int:
    return 2 if f.category in SENSITIVE_CATEGORIES else 1 if f.category == IDENTIFIER else 0


_CLAUSE_END: Final = re.compile(r"[,:，：]|\s[—–-]{1,2}\s|——")


def clause_ends(text: str, start: int, end: int) -> list[int]:
    """Positions inside [start, end) where a clause ends (at a comma, a colon or a dash, which stay)."""
    return [m.start() for m in _CLAUSE_END.finditer(text, start, end)]


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
        category = f.category if f.category in SENSITIVE_CATEGORIES else f.type.lower()
        for s, e in sentences:
            if s < f.end and f.start < e:
                if op.scope == "clause":
                    # through the end of the clause holding the finding; the clauses after it stay
                    e = next((c for c in clause_ends(text, f.end, e) if c < e), e)
                cuts.append((s, e, category, marker))
    return _Plan(spans=spans, withheld=_merge_withheld(text, cuts))


def _merge_withheld(
    text: str, cuts: list[tuple[int, int, str, str]]
) -> list[tuple[int, int, tuple[str, ...], str]]:
    merged: list[tuple[int, int, set[str], str]] = []
    for s, e, category, marker in sorted(cuts):
        while s < e and text[s].isspace():  # the space before a withheld sentence stays
            s += 1
        if merged and s <= merged[-1][1]:
            last = merged[-1]
            merged[-1] = (last[0], max(last[1], e), last[2] | {category}, last[3])
        else:
            merged.append((s, e, {category}, marker))
    order = {c: i for i, c in enumerate(SENSITIVE_CATEGORIES)}
    return [
        (s, e, tuple(sorted(cats, key=lambda c: (order.get(c, len(order)), c))), marker)
        for s, e, cats, marker in merged
    ]


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
