"""Remarks written the ways people really write them are caught; real names and places are not.

Two tables, English and Chinese (Simplified and Traditional):

* remarks x evasions: every evasion (capitals, full-width letters, Cyrillic and Greek
  look-alikes, zero-width characters, soft hyphens, accents, spacing, line breaks,
  underscores, dots, spelled-out letters, leetspeak, glued CamelCase; for Chinese:
  spaces, line breaks, Traditional characters, Kangxi radicals) applied to every remark
  must still be caught, by the screen, by the note recognizer and by the outbound gate;
* innocent names and places (towns and streets whose names look alarming, surnames that
  are words) must pass the import screen and the gate.

Property tests insert zero-width characters, soft hyphens, look-alikes and extra
whitespace into caught remarks at random: none of them makes a remark pass.
The remarks are written for these tests; none is copied from the issue.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable
from functools import cache

import opencc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.export.gate import Letter, OutboundGate, StaticOwners
from core.pii.analysis import SENSITIVE_CATEGORIES
from core.pii.normaliser import _confusable_map
from core.pii.recognizers.sensitive import SensitiveRecognizer
from core.pii.screen import CustomerFieldScreen, SensitiveScreen

SCREEN = SensitiveScreen.shared()
FIELDS = CustomerFieldScreen()

# (remark, a category it must be found under)
EN_REMARKS: list[tuple[str, str]] = [
    ("son killed in a road accident", "bereavement"),
    ("husband passed away last spring", "bereavement"),
    ("widowed since the floods", "bereavement"),
    ("mother deceased", "bereavement"),
    ("late wife Margaret", "bereavement"),
    ("grieving family", "bereavement"),
    ("lost their baby girl", "bereavement"),
    ("fatal motorbike crash", "bereavement"),
    ("funeral on Friday", "bereavement"),
    ("in memoriam", "bereavement"),
    ("RIP", "bereavement"),
    ("executors of the estate", "bereavement"),
    ("wife has terminal cancer", "health"),
    ("undergoing chemotherapy", "health"),
    ("on dialysis three times a week", "health"),
    ("diagnosed with dementia", "health"),
    ("miscarriage in May", "pregnancy"),
    ("going through a divorce", "family_breakdown"),
    ("declared bankrupt", "financial_distress"),
    ("debt collectors calling", "financial_distress"),
    ("brother in prison", "criminal_record"),
    ("daughter attempted suicide", "mental_health"),
    ("back in rehab", "addiction"),
]

ZH_REMARKS: list[tuple[str, str]] = [
    ("儿子车祸身亡", "bereavement"),
    ("丈夫上个月过世了", "bereavement"),
    ("母亲已故", "bereavement"),
    ("父亲病逝", "bereavement"),
    ("丧偶多年", "bereavement"),
    ("妻子癌症晚期在化疗", "health"),
    ("父亲长期透析", "health"),
    ("她去年流产了", "pregnancy"),
    ("正在闹离婚", "family_breakdown"),
    ("公司破产欠债", "financial_distress"),
    ("哥哥坐过牢", "criminal_record"),
    ("女儿有抑郁症", "mental_health"),
]

_FULLWIDTH = {chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)}
_CYRILLIC = dict(zip("aceopxyiAEKMHOPCTBX", "асеорхуіАЕКМНОРСТВХ", strict=True))
_GREEK = dict(zip("AEHIKMNOPTXYZBo", "ΑΕΗΙΚΜΝΟΡΤΧΥΖΒο", strict=True))
_LEET = {"a": "@", "e": "3", "i": "1", "o": "0", "s": "$", "t": "7"}


def _per_word(fn: Callable[[str], str]) -> Callable[[str], str]:
    return lambda text: " ".join(fn(w) for w in text.split(" "))


def _longest(fn: Callable[[str], str]) -> Callable[[str], str]:
    def apply(text: str) -> str:
        words = text.split(" ")
        i = max(range(len(words)), key=lambda k: len(words[k]))
        words[i] = fn(words[i])
        return " ".join(words)

    return apply


def _leet(word: str) -> str:
    if len(word) < 4:
        return word
    out, budget = [], max(1, (len(word) - 2) // 2)  # never more digits than letters
    for ch in word:
        if budget and ch.lower() in _LEET:
            out.append(_LEET[ch.lower()])
            budget -= 1
        else:
            out.append(ch)
    return "".join(out)


def _accents(text: str) -> str:
    return "".join(c + "\u0301" if c in "aeiouAEIOU" else c for c in text)


EN_EVASIONS: dict[str, Callable[[str], str]] = {
    "as written": lambda t: t,
    "capitals": str.upper,
    "title case": str.title,
    "full width": lambda t: "".join(_FULLWIDTH.get(c, c) for c in t),
    "cyrillic look-alikes": lambda t: "".join(_CYRILLIC.get(c, c) for c in t),
    "greek look-alikes": lambda t: "".join(_GREEK.get(c, c) for c in t.upper()),
    "zero-width between letters": lambda t: "\u200b".join(t),
    "soft hyphens": lambda t: "\u00ad".join(t),
    "word joiners and BOMs": lambda t: "".join(
        c + ("\u2060" if i % 2 else "\ufeff") for i, c in enumerate(t)
    ),
    "combining accents": _accents,
    "double spaces": lambda t: t.replace(" ", "  "),
    "line breaks": lambda t: t.replace(" ", "\n"),
    "tabs and CRLF": lambda t: t.replace(" ", " \t\r\n"),
    "underscores": lambda t: t.replace(" ", "_"),
    "dots": lambda t: t.replace(" ", "."),
    "hyphens": lambda t: t.replace(" ", "-"),
    "glued camel case": lambda t: "".join(w[:1].upper() + w[1:] for w in t.split(" ")),
    "spelled out": _longest(lambda w: " ".join(w)),
    "dotted letters": _longest(lambda w: ".".join(w) + "."),
    "leetspeak": _per_word(_leet),
    "look-alikes and zero-width": lambda t: "\u200c".join(_CYRILLIC.get(c, c) for c in t),
    "in brackets": lambda t: f"Mr John Smith ({t})",
    "after a dash": lambda t: f"Ann Lee - {t}",
}


@cache
def _t2s_inverse() -> opencc.OpenCC:
    return opencc.OpenCC("s2t")


@cache
def _kangxi() -> dict[str, str]:
    """Ideograph -> its Kangxi radical look-alike (U+2F00..U+2FD5), from the Unicode data."""
    out: dict[str, str] = {}
    for code in range(0x2F00, 0x2FD6):
        radical = chr(code)
        out.setdefault(unicodedata.normalize("NFKC", radical), radical)
    return out


def _traditional(text: str) -> str:
    return str(_t2s_inverse().convert(text))


ZH_EVASIONS: dict[str, Callable[[str], str]] = {
    "as written": lambda t: t,
    "traditional": _traditional,
    "spaces between characters": lambda t: " ".join(t),
    "line breaks between characters": lambda t: "\n".join(t),
    "zero-width between characters": lambda t: "\u200b".join(t),
    "traditional and spaced": lambda t: " ".join(_traditional(t)),
    "kangxi radicals": lambda t: "".join(_kangxi().get(c, c) for c in t),
    "after a name": lambda t: f"陈大文 {t}",
    "traditional after a name": lambda t: _traditional(f"林小红 {t}"),
    "full-width brackets": lambda t: f"王芳（{t}）",
}


def _categories(text: str) -> set[str]:
    return {f.category for f in SCREEN.findings(text)}


def _cases(
    remarks: list[tuple[str, str]], evasions: dict[str, Callable[[str], str]]
) -> list[tuple[str, str, str]]:
    return [(name, fn(remark), category) for remark, category in remarks for name, fn in evasions.items()]


EN_CASES = _cases(EN_REMARKS, EN_EVASIONS)
ZH_CASES = _cases(ZH_REMARKS, ZH_EVASIONS)


def test_evasions_change_the_text() -> None:
    """Every evasion really rewrites the remarks (so the table tests what it says)."""
    for name, fn in EN_EVASIONS.items():
        if name != "as written":
            assert any(fn(r) != r for r, _ in EN_REMARKS), name
    for name, fn in ZH_EVASIONS.items():
        if name != "as written":
            assert any(fn(r) != r for r, _ in ZH_REMARKS), name


@pytest.mark.parametrize(("evasion", "text", "category"), EN_CASES + ZH_CASES)
def test_screen_catches_every_evasion(evasion: str, text: str, category: str) -> None:
    assert category in _categories(text), (evasion, text)


@pytest.mark.parametrize(("evasion", "text", "category"), EN_CASES + ZH_CASES)
def test_name_field_with_a_remark_goes_under_review(evasion: str, text: str, category: str) -> None:
    level, doc = FIELDS.screen_fields({"full_name": text})
    assert level == "sensitive", (evasion, text)
    assert doc is not None
    reason = json.loads(doc)["_review"]
    head, _, categories = reason.partition(":")
    assert category in categories.split(",")  # categories only, never the words
    assert set(head.split("+")) <= {"name_extra_text", "sensitive_field"}
    assert set(categories.split(",")) <= set(SENSITIVE_CATEGORIES)


@pytest.mark.parametrize(("evasion", "text", "category"), EN_CASES[::3] + ZH_CASES[::2])
def test_note_recognizer_catches_evasions(evasion: str, text: str, category: str) -> None:
    lang = "zh" if any("\u3400" <= c <= "\u9fff" or "\u2f00" <= c <= "\u2fdf" for c in text) else "en"
    found = {r.entity_type.lower() for r in _recognizer(lang).analyze(text, [])}
    assert category in found, (evasion, text)


@cache
def _recognizer(lang: str) -> SensitiveRecognizer:
    return SensitiveRecognizer(language=lang)


def _gate() -> OutboundGate:
    return OutboundGate(owners=StaticOwners(), phone_region="GB")


@pytest.mark.parametrize(("evasion", "text", "category"), EN_CASES[1::4] + ZH_CASES[1::3])
def test_gate_withholds_letters_carrying_an_evasion(evasion: str, text: str, category: str) -> None:
    gate = _gate()
    for field, body in (
        ("full_name", f"{text}\nOur winter sale starts now."),
        ("postal_address", f"{text}\n"),
    ):
        reasons = gate.check(Letter(pseudonym="p", text=body, values={field: text}))
        assert category in {r.category for r in reasons}, (evasion, field, text)


# -- innocent names and places ------------------------------------------------------------------------------

INNOCENT: list[tuple[str, str]] = [
    ("Sofia Marino", "Via Roma 9, 00184 Roma"),
    ("Anna Sick", "Hauptstrasse 3, 20095 Hamburg"),
    ("Klaus Dies", "12 Church Lane, Gravesend DA11 0DL"),
    ("Peter Payne", "4 Hospital Road, Bury St Edmunds IP33 3JT"),
    ("Margaret Graves", "7 Hospice Way, Stevenage SG1 2AB"),
    ("Henry Coffin", "2 Crossbones Lane, Newcastle upon Tyne NE1 1AA"),
    ("Dolores Mort", "Main Street, Accident, MD 21520"),
    ("Soledad Krank", "1 Cemetery Road, Deadwood, SD 57732"),
    ("Ingrid Berg", "Hell, Stjordal, Norway"),
    ("Rose Christian", "5 Chapel Street, Bath BA1 1AA"),
    ("Ann Gay", "18 Infirmary Street, Leeds LS1 2JP"),
    ("Will Hope", "3 Mill Lane, Reading RG1 2AB"),
    ("Mary-Jane O'Neil", "Flat 2, 9 Grave Lane, Bristol BS1 5TR"),
    ("Dr. A. B. Smith-Jones, PhD", "221B Baker Street, London NW1 6XE"),
    ("Abdullah bin Hamad Al Thani", "Apt 4B, 350 Fifth Avenue, New York, NY 10118"),
    ("Jean-Luc de la Fontaine", "14 rue de la Paix, 75002 Paris"),
    ("王康", "上海市徐汇区康复路25号"),
    ("陳小明", "香港九龍彌敦道100號"),
    ("欧阳娜娜", "北京市朝阳区医院路3号"),
    ("李平女士", "广州市越秀区中山二路58号"),
]


@pytest.mark.parametrize(("name", "address"), INNOCENT)
def test_innocent_names_and_places_pass_the_import_screen(name: str, address: str) -> None:
    assert FIELDS.screen_fields({"full_name": name, "postal_address": address}) == ("personal", None)


@pytest.mark.parametrize(("name", "address"), INNOCENT)
def test_innocent_names_and_places_get_their_letter(name: str, address: str) -> None:
    text = f"{name}\n{address}\n\nDear {name},\n\nOur winter preview starts on Monday.\n"
    values = {"full_name": name, "postal_address": address, "salutation": f"Dear {name}"}
    assert _gate().check(Letter(pseudonym="p", text=text, values=values)) == ()


def test_a_place_word_is_still_an_ethnicity_in_a_people_context() -> None:
    assert "ethnicity" in _categories("a Roma family moved in next door")
    assert "ethnicity" not in _categories("Via Roma 9, Roma")


def test_a_surname_exemption_holds_only_in_name_fields() -> None:
    assert SCREEN.findings("Anna Sick", kind="name") == ()
    assert "health" in _categories("Anna off sick since May")
    assert "health" in {f.category for f in SCREEN.findings("ANNA SICK RIP", kind="name")} or (
        "bereavement" in _categories("ANNA SICK RIP")
    )


# -- properties -----------------------------------------------------------------------------------------------


@cache
def _lookalikes() -> dict[str, list[str]]:
    """ASCII letter -> look-alike characters whose skeleton is that letter (from the UTS #39 data)."""
    out: dict[str, list[str]] = {}
    for glyph, proto in _confusable_map().items():
        if proto.isascii() and proto.isalpha() and len(glyph) == 1 and unicodedata.category(glyph)[0] == "L":
            out.setdefault(proto, []).append(glyph)
    return {k: sorted(v)[:12] for k, v in out.items()}


_INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"]


@st.composite
def _disguised(draw: st.DrawFn, remarks: list[tuple[str, str]]) -> tuple[str, str, str]:
    remark, category = draw(st.sampled_from(remarks))
    out: list[str] = []
    for ch in remark:
        low = ch.lower()
        if ch == " ":
            out.append(draw(st.sampled_from([" ", "  ", "\n", " \n ", "\t", "\r\n"])))
            continue
        if low in _lookalikes() and draw(st.booleans()):
            out.append(draw(st.sampled_from(_lookalikes()[low])))
        else:
            out.append(ch)
        if draw(st.integers(0, 3)) == 0:
            out.append(draw(st.sampled_from(_INVISIBLE)))
    return remark, "".join(out), category


@settings(max_examples=400, deadline=None)
@given(_disguised(EN_REMARKS))
def test_disguising_an_english_remark_never_makes_it_pass(case: tuple[str, str, str]) -> None:
    remark, text, category = case
    assert category in _categories(text), (remark, text)


@st.composite
def _disguised_zh(draw: st.DrawFn) -> tuple[str, str, str]:
    remark, category = draw(st.sampled_from(ZH_REMARKS))
    if draw(st.booleans()):
        remark = _traditional(remark)
    out: list[str] = []
    for ch in remark:
        out.append(_kangxi().get(ch, ch) if draw(st.integers(0, 4)) == 0 else ch)
        out.append(draw(st.sampled_from(["", "", " ", "\n", *_INVISIBLE])))
    return remark, "".join(out), category


@settings(max_examples=300, deadline=None)
@given(_disguised_zh())
def test_disguising_a_chinese_remark_never_makes_it_pass(case: tuple[str, str, str]) -> None:
    remark, text, category = case
    assert category in _categories(text), (remark, text)


@settings(max_examples=150, deadline=None)
@given(_disguised(EN_REMARKS), st.sampled_from(["full_name", "postal_address"]))
def test_disguised_remarks_in_a_field_never_reach_a_letter(case: tuple[str, str, str], field: str) -> None:
    _remark, text, _category = case
    level, _doc = FIELDS.screen_fields(
        {field: f"Jane Doe {text}" if field == "full_name" else f"1 Elm Rd {text}"}
    )
    assert level == "sensitive"
    value = f"Jane Doe {text}" if field == "full_name" else f"1 Elm Rd {text}"
    assert _gate().check(Letter(pseudonym="p", text=f"{value}\nHello", values={field: value}))
