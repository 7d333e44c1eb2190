"""The outbound gate's fast paths equal its full path (issue 12: the gate's cost per letter).

Each shortcut of :class:`core.export.gate.OutboundGate` (joints read only where a literal may
cross the line break, identifiers found in one pass) is compared with a reading that takes no
shortcut: every joint read whole, every view of every line matched.
"""

from __future__ import annotations

import re
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.crypto import normalise_email, normalise_phone
from core.errors import InputError
from core.export.gate import (
    _CJK_END,
    _CJK_START,
    _EMAIL,
    _HEAD_HOT,
    _LOOKALIKE_BY_DIGIT,
    _MAYBE_IDENTIFIER,
    _PHONE,
    _SPELLED_IN,
    _SPELLED_OUT,
    _TAIL_HOT,
    Letter,
    OutboundGate,
    StaticOwners,
    _crossings,
    _matchers,
)
from core.pii.normaliser import ascii_lookalikes, is_normal, normalise, skeleton_views
from core.pii.recognizers.sensitive_terms_en import TERMS_EN
from core.pii.recognizers.sensitive_terms_zh import TERMS_ZH
from core.pii.terms import required_literals


def _literals() -> list[str]:
    found: set[str] = set()
    for terms in (TERMS_EN, TERMS_ZH):
        for fragments in terms.values():
            for fragment in fragments:
                found |= required_literals(fragment) or set()
    return sorted(found)


LITERALS = _literals()
# literals that can cross a line break: a space inside, or two Chinese characters side by side
SPLITTABLE = [
    lit
    for lit in LITERALS
    if " " in lit.strip() or any(_CJK_START.match(a) and _CJK_START.match(b) for a, b in pairwise(lit))
]
FILLER = ["Dear", "Oliver", "sale", "in", "a", "the", "our", "k", "i", "l", "e", "d", "x", "王伟", "北京市",
          "07700", "900123", "c0@example.com", "l1ke", "K1lled", "ＨＩＶ", "Hospital", "Road", "my", ",", "-"]  # fmt: skip


def gate() -> OutboundGate:
    return OutboundGate(owners=StaticOwners(), phone_region="GB")


def reference_matches(g: OutboundGate, text: str) -> set[tuple[str, str]]:
    """Every view of every line, and every joint read whole (no pre-filter, no cache)."""
    found: set[tuple[str, str]] = set()
    lines = [line for line in text.split("\n") if line and not line.isspace()]
    results = [g._scan_line(line) for line in lines]
    for line in lines:
        for view in skeleton_views(line):
            found.update(g._view_matches(view))
    for (before, previous), (after, result) in pairwise(zip(lines, results, strict=True)):
        tail, head = previous.tail, result.head
        glue = "" if _CJK_END.search(tail) and _CJK_START.match(head) else " "
        found.update(g._view_matches(tail + glue + head))
        if previous.flags & _SPELLED_OUT and result.flags & _SPELLED_IN:  # k i l⏎l e d
            for view in skeleton_views(before + "\n" + after):
                found.update(g._view_matches(view))
    return found


@st.composite
def split_literal_text(draw: st.DrawFn) -> str:
    """Lines around a term literal cut where a line break can cut it, among filler words."""
    literal = draw(st.sampled_from(SPLITTABLE))
    cuts = [k for k, ch in enumerate(literal) if ch == " "]
    cuts += [
        k for k in range(1, len(literal)) if _CJK_START.match(literal[k - 1]) and _CJK_START.match(literal[k])
    ]
    k = draw(st.sampled_from(sorted(set(cuts))))
    before, after = literal[:k], literal[k:].lstrip(" ") if literal[k] == " " else literal[k:]
    if draw(st.booleans()):
        before, after = before.upper(), after.title()
    words = st.lists(st.sampled_from(FILLER), max_size=4).map(" ".join)
    lines = [f"{draw(words)} {before}".strip(), f"{after} {draw(words)}".strip()]
    if draw(st.booleans()):
        lines.insert(draw(st.integers(0, 2)), draw(words))
    return "\n".join(lines)


@settings(max_examples=400, deadline=None)
@given(split_literal_text())
def test_joints_read_only_where_a_literal_may_cross_find_what_reading_every_joint_finds(text: str) -> None:
    g = gate()
    found, _identifiers = g._scan(text)
    assert set(found) == reference_matches(g, text)
    again, _ = g._scan(text)  # from the caches
    assert set(again) == set(found)


_WORDS = st.sampled_from(
    [*FILLER, "passed", "away", "car", "crash", "in", "hospital", "去", "世", "车", "祸", "rest", "peace",
     "A", "&", "E", "\n", "\n", "\n", "  ", "hit", "by", "a", "asian", "baby", "due", "date"]
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(_WORDS, max_size=30), st.sampled_from([" ", ""]))
def test_scan_equals_the_full_reading(words: list[str], sep: str) -> None:
    text = sep.join(words)
    g = gate()
    found, _ = g._scan(text)
    assert set(found) == reference_matches(g, text)


@settings(max_examples=500, deadline=None)
@given(
    st.sampled_from(SPLITTABLE),
    st.data(),
    st.text(alphabet=st.sampled_from(list("ab x1去车")), max_size=6),
    st.text(alphabet=st.sampled_from(list("ab x1世祸")), max_size=6),
)
def test_every_literal_occurrence_across_the_break_is_seen(
    literal: str, data: st.DataObject, left: str, right: str
) -> None:
    """_Crossings: a literal occurrence that lies neither in the tail nor in the head of a joint is
    announced by the two lines' sides (a shared split, or a side that crosses alone)."""
    k = data.draw(st.integers(0, len(literal)))
    tail, head = (left + literal[:k]).strip(), (literal[k:] + right).strip()
    if not tail or not head:
        return
    glue = "" if _CJK_END.search(tail) and _CJK_START.match(head) else " "
    view = tail + glue + head
    en, zh = _matchers()
    crossing = [
        (a, b)
        for prefilter in (en.prefilter, zh.prefilter)
        for a, b in prefilter.hits(view)
        if a < len(tail) + len(glue) and b > len(tail)  # neither inside the tail nor inside the head
    ]
    crossings = _crossings()
    tail_open, tail_alone = crossings.tail_side(tail)
    head_open, head_alone = crossings.head_side(head)
    if crossing:
        assert tail_alone or head_alone or not tail_open.isdisjoint(head_open)


def test_terms_across_line_breaks_are_found() -> None:
    """The joints that matter are read: English words on two lines, Chinese characters on two lines."""
    g = gate()
    for text, category in [
        ("We hear he passed\naway last week", "bereavement"),
        ("Oliver Smith\n12 King Street, in\nhospital since May", "health"),
        ("王伟\n丈夫去\n世了", "bereavement"),
        ("Dear Ann, our sale\nstarts now. Rest in\npeace", "bereavement"),
    ]:
        found, _ = g._scan(text)
        assert category in {c for c, _ in found}, text
        assert category in {r.category for r in g.check(Letter(pseudonym="p", text=text, values={}))}


def test_plain_template_lines_mark_no_joint() -> None:
    """Ordinary lines carry no split that another line could complete (their joints are not read)."""
    g = gate()
    for line in ["Kind regards,", "Oliver Smith", "1 King Street, Leeds LS1 4AP", "尊敬的刘静,"]:
        result = g._scan_line(line)
        assert not result.flags & (_TAIL_HOT | _HEAD_HOT)


# -- identifiers: one pass for the phone pre-check, a faster plain-ASCII test ------------------------

_DIGIT = re.compile(r"\d")


def reference_identifiers(g: OutboundGate, text: str) -> tuple[tuple[str, str], ...]:
    """The identifiers as the gate found them before its fast paths (digits counted with findall,
    plain text recognised by :func:`is_normal`)."""

    def plain(norm: str) -> tuple[tuple[str, str], ...]:
        if _MAYBE_IDENTIFIER.search(norm) is None:
            return ()
        found: list[tuple[str, str]] = []
        for match in _EMAIL.finditer(norm) if "@" in norm else ():
            try:
                found.append(("email", normalise_email(match.group(0))))
            except InputError:
                continue
        if len(_DIGIT.findall(norm)) < 7:
            return tuple(dict.fromkeys(found))
        for match in _PHONE.finditer(norm):
            raw = match.group(0)
            if sum(c.isdigit() for c in raw) < 7:
                continue
            try:
                found.append(("phone", normalise_phone(raw, "GB")))
            except InputError:
                continue
        return tuple(dict.fromkeys(found))

    if text.isascii() and _MAYBE_IDENTIFIER.search(text) is None:
        return ()  # other text may write an at sign or digits as compatibility forms (﹫, ①)
    if is_normal(text):
        return plain(text)
    norm = normalise(text).text
    found = plain(norm)
    if norm.isascii():
        return found
    looks = ascii_lookalikes(norm)
    if looks == norm:
        return found
    return tuple(dict.fromkeys(found + plain(normalise(looks).text)))


_IDENT_TEXT = st.text(
    alphabet=st.sampled_from(list("0123456789 +()-.@＠﹫０７abcOolI|ео٣①²⁷⑦\u200b")), max_size=40
) | st.lists(
    st.sampled_from(
        ["07700 900123", "+44 7700 900123", "me@example.com", "c0@example.com", "O77OO 9OO123", "0 7 7 0 0",
         "ｏｔｈｅｒ@example.com", "оther@example.com", "Flat 1 2 3", "call", ",", "(0161) 496-0000", "@"]
    ),
    max_size=6,
).map(" ".join)  # fmt: skip


@settings(max_examples=500, deadline=None)
@given(_IDENT_TEXT)
def test_identifiers_equal_the_reference(text: str) -> None:
    assert gate().identifiers(text) == reference_identifiers(gate(), text)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("0123456789OolI|abc .é")), max_size=20))
def test_plain_ascii_test_equals_is_normal(text: str) -> None:
    assert is_normal(text) == (text.isascii() and _LOOKALIKE_BY_DIGIT.search(text) is None)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("write to other﹫example.com", "email"),  # U+FE6B SMALL COMMERCIAL AT
        ("call ⁰⁷⁷⁰⁰ ⁹⁰⁰¹²³", "phone"),  # superscript digits
        ("call ⓪⑦⑦⓪⓪ ⑨⓪⓪①②③", "phone"),  # circled digits, no ASCII digit or at sign at all
    ],
)
def test_identifiers_written_only_in_compatibility_forms_are_read(text: str, kind: str) -> None:
    assert [k for k, _value in gate().identifiers(text)] == [kind]
