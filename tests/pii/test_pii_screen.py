"""The fast sensitive screen: same findings as the full term pattern, with or without its prefilter."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.pii.recognizers.sensitive_terms_en import TERMS_EN
from core.pii.recognizers.sensitive_terms_zh import TERMS_ZH
from core.pii.screen import CustomerFieldScreen, SensitiveScreen
from core.pii.terms import TermPrefilter, compile_terms

CORPUS = Path(__file__).parent / "corpus" / "corpus.jsonl"
TEXTS = [json.loads(line)["text"] for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]
EN = compile_terms(TERMS_EN, word_bounded=True)
ZH = compile_terms(TERMS_ZH, word_bounded=False)
PREFILTERS = ((EN, TermPrefilter(TERMS_EN)), (ZH, TermPrefilter(TERMS_ZH)))


def test_prefilter_derives_literals_for_every_fragment() -> None:
    for prefilter in (p for _, p in PREFILTERS):
        assert not prefilter._always  # a fragment without literals would switch the prefilter off


@pytest.mark.parametrize("text", TEXTS)
def test_prefilter_never_hides_a_match_in_the_corpus(text: str) -> None:
    for pattern, prefilter in PREFILTERS:
        if pattern.search(text):
            assert prefilter.may_match(text)


_WORDS = sorted({w for frags in TERMS_EN.values() for f in frags for w in re.findall(r"[A-Za-z]{3,}", f)})


@given(st.lists(st.sampled_from([*_WORDS, "the", "a", "and", "Mr", "Smith", "12", "road"]), max_size=8))
@settings(max_examples=300)
def test_prefilter_never_hides_a_match_in_random_phrases(words: list[str]) -> None:
    text = " ".join(words)
    if EN.search(text):
        assert PREFILTERS[0][1].may_match(text)


@pytest.mark.parametrize(
    ("name", "labels"),
    [
        ("Daughter Killed in Car Crash", {"bereavement", "accident"}),  # the broker-list incident
        ("John Smith (deceased)", {"bereavement"}),  # a suppression hint in the name line
        ("王芳 (已故)", {"bereavement"}),  # the same in Chinese: "(deceased)"
        ("Oliver Smith", set()),  # an ordinary name
        ("14 High Street, London SW1A 1AA", set()),  # an ordinary address
    ],
)
def test_screen_labels(name: str, labels: set[str]) -> None:
    assert set(SensitiveScreen.shared().analyse(name).labels) == labels


def test_customer_field_screen_levels() -> None:
    screen = CustomerFieldScreen()
    assert screen.screen_fields({"full_name": "Oliver Smith"}) == ("personal", None)
    level, doc = screen.screen_fields(
        {"full_name": "Daughter Killed in Car Crash", "postal_address": "1 Elm Rd"}
    )
    assert level == "sensitive" and doc is not None
    stored = json.loads(doc)
    assert set(stored) == {"full_name", "_review"}
    assert stored["_review"] == "name_extra_text:accident,bereavement"  # category level
    assert "Daughter" not in doc.decode()  # offsets and labels, never the text


@given(
    st.lists(
        st.lists(
            st.sampled_from(
                [*_WORDS, "the", "Mr", "Smith", "12", "1O", "road", "王芳", "已故", "ｊｏｈｎ", "\u200b"]
            ),
            max_size=6,
        ).map(" ".join),
        min_size=1,
        max_size=3,
    )
)
@settings(max_examples=300)
def test_surely_clean_never_hides_a_finding(texts: list[str]) -> None:
    """The one-pass check over a customer's fields: when it says clean, no field has a finding."""
    screen = SensitiveScreen.shared()
    if screen.surely_clean(texts):
        assert all(screen.findings(t) == () for t in texts)


def test_surely_clean_on_ordinary_and_sensitive_fields() -> None:
    screen = SensitiveScreen.shared()
    assert screen.surely_clean(["Oliver Smith", "14 High Street, London SW1A 1AA"])
    assert not screen.surely_clean(["Daughter Killed in Car Crash", "1 Elm Rd"])
    assert not screen.surely_clean(["王芳 (已故)"])  # not plain ASCII: looked at in full


def test_surely_clean_reads_an_accented_field_apart_from_a_plain_one() -> None:
    """Plain ASCII fields are read joined, others one by one: a remark is caught either way."""
    screen = SensitiveScreen.shared()
    assert screen.surely_clean(["Ólafur Arnalds", "14 High Street, London SW1A 1AA"])
    assert not screen.surely_clean(["Ólafur Arnalds", "Flat 1 (Husband Passed  Away 2023)"])
    assert not screen.surely_clean(["Ann Lee", "Flat 1, Ｄａｕｇｈｔｅｒ Ｋｉｌｌｅｄ in Car Crash"])
    assert not screen.surely_clean(["Ann Lee", "k i l l e d", "Flat 2"])


@pytest.mark.parametrize(
    ("address", "level"),
    [
        ("1 Elm Rd\nRoma", "personal"),  # a town on its own line is a place
        ("Via Roma 9, Roma", "personal"),
        ("1 Elm Rd back in\nRehab", "sensitive"),  # a line break inside a phrase makes no town
        ("1 Elm Rd b\u200bac\u200bk i\u200bn\n\u211behab", "sensitive"),  # nor when disguised
        ("Flat 2, staying with\nRehab", "sensitive"),
    ],
)
def test_a_place_on_its_own_line_only_when_the_line_before_ends_a_phrase(address: str, level: str) -> None:
    assert CustomerFieldScreen().screen_fields({"postal_address": address})[0] == level


@pytest.mark.parametrize("name", ["李娜deceased", "王伟passed away", "陈静RIP", "張偉widowed"])
def test_an_english_remark_glued_to_a_chinese_name_is_found(name: str) -> None:
    """Chinese has no spaces: an ideograph next to an English term is no letter of that term's word."""
    status, _analysis = CustomerFieldScreen().screen_fields({"full_name": name})
    assert status == "sensitive", name


@pytest.mark.parametrize("name", ["李娜Grieveson", "王伟Ripley", "Ann Ripley"])
def test_a_longer_latin_word_holding_a_term_is_still_no_term(name: str) -> None:
    status, _analysis = CustomerFieldScreen().screen_fields({"full_name": name})
    assert status == "personal", name
