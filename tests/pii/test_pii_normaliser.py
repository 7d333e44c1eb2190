from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.pii.normaliser import _full_skeleton, first_reading, normalise, skeleton, skeletons


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("１３８００１３８０００", "13800138000"),  # full-width digits
        ("ｊｏｈｎ＠ｑｑ．ｃｏｍ", "john@qq.com"),  # full-width letters and symbols
        ("07700\u200b900\u200d123", "07700900123"),  # zero-width characters removed
        ("call O77OO 9OO123", "call 07700 900123"),  # O as zero inside digit runs
        ("ref l23456", "ref 123456"),  # l as one
        ("Oslo office", "Oslo office"),  # words are left alone
        ("plain ascii text", "plain ascii text"),  # fast path
    ],
)
def test_normalise_table(raw: str, expected: str) -> None:
    assert normalise(raw).text == expected


def test_span_maps_back_to_original_characters() -> None:
    raw = "tel: １３８\u200b００１３８０００ ok"
    norm = normalise(raw)
    start = norm.text.index("138")
    s, e = norm.to_original(start, start + 11)
    assert raw[s:e] == "１３８\u200b００１３８０００"


@given(st.text(alphabet=st.sampled_from("aO0l1 １２ｘ\u200b\u200c,.-王"), max_size=40))
def test_offsets_stay_inside_original(raw: str) -> None:
    norm = normalise(raw)
    for i in range(len(norm.text)):
        s, e = norm.to_original(i, i + 1)
        assert 0 <= s < e <= len(raw)


# -- the skeleton: the word view every sensitive-term check uses -------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Plain words", "plain words"),  # fast path: lower case only
        ("ＦＵＬＬ ｗｉｄｔｈ", "full width"),  # NFKC
        ("Саr Кеу", "car key"),  # Cyrillic look-alikes of Latin letters (UTS #39 data)
        ("ЅТОР", "stop"),  # Cyrillic capitals that look Latin
        ("𝐛𝐨𝐥𝐝 𝘪𝘵𝘢𝘭𝘪𝘤", "bold italic"),  # mathematical alphanumerics
        ("na\u00efve cafe\u0301", "naive cafe"),  # accents and combining marks dropped
        ("in\u200bvis\u00adible\u2060", "invisible"),  # zero-width, soft hyphen, word joiner
        ("s p e l l e d out", "spelled out"),  # spelled-out letters join
        ("S.P.E.L.L", "spell"),
        ("Glued_Words-Here", "glued words here"),  # underscores and hyphens between letters
        ("many   spaces\n\nand\tbreaks", "many spaces and breaks"),
        ("l33t 5p34k w0rds", "leet speak words"),  # four characters, two letters, two digits at most each
        ("h4ck3d", "hacked"),
        ("pr@ise", "praise"),
        ("3.5 kg, tel 0161-496 0000", "3.5 kg, tel 0161-496 0000"),  # numbers keep their punctuation
        ("End. Next - one", "end. next - one"),  # sentence punctuation stays
        ("車禍 過世", "车祸过世"),  # Traditional to Simplified, no spaces between Chinese characters
        ("⽗親", "父亲"),  # a Kangxi radical is its ideograph
        ("it’s", "it's"),  # typographic apostrophes
    ],
)
def test_skeleton_table(raw: str, expected: str) -> None:
    assert skeleton(raw).text == expected


def test_glued_words_are_also_read_split() -> None:
    plain, split = skeletons("DaughterKilledInACarCrash")
    assert plain.text == "daughterkilledinacarcrash"
    assert split.text == "daughter killed in a car crash"
    assert skeletons("DiVoRcE")[0].text == "divorce"  # random capitals are read whole too
    assert len(skeletons("plain words")) == 1


def test_skeleton_reads_1_both_ways() -> None:
    norm = skeleton("ki11ed k1lled")
    assert norm.text == "kiiied killed"  # 1 read as i
    assert norm.variants == ("killed kllled",)  # and as l


def test_skeleton_leaves_codes_alone() -> None:
    for code in ("SG1 2AB", "B1 1LL", "SW1A 1AA", "CF10 1EP", "Flat 4B", "A380", "covid19"):
        assert skeleton(code).text == code.lower()


@given(st.text(alphabet=st.sampled_from("aAbk eKLO01357.-,_'@$!\n\u200bＫé王車 "), max_size=30))
def test_skeleton_offsets_map_back(raw: str) -> None:
    norm = skeleton(raw)
    for i in range(len(norm.text)):
        s, e = norm.to_original(i, i + 1)
        assert 0 <= s <= e <= len(raw)
    for variant in norm.variants:
        assert len(variant) == len(norm.text)


@given(st.text(alphabet=st.sampled_from("abcdeKLOS01357 .-,'@$!|\t"), max_size=24))
def test_skeleton_fast_path_equals_full(raw: str) -> None:
    """The fast path (plain text: lower case only) is only an optimisation."""
    assert skeleton(raw).text == _full_skeleton(raw).text


@given(st.text(alphabet=st.sampled_from("abkKLO01357 .-,;:()/\"'@$!|_`&#*?"), max_size=30))
def test_skeleton_fast_path_equals_full_with_punctuation(raw: str) -> None:
    """The one-search test for plain text (``_needs_work``) never skips a step the full skeleton takes
    (of the text as first read: a slash between letters as a space)."""
    assert skeleton(raw).text == _full_skeleton(first_reading(raw)).text


@given(st.text(alphabet=st.sampled_from("abcdekilos013457 .-,'@$!|()"), max_size=30))
def test_ascii_leetspeak_path_keeps_offsets(raw: str) -> None:
    """Leetspeak folds one character for one: offsets and variants keep the text's length."""
    norm = _full_skeleton(raw)
    for i in range(len(norm.text)):
        s, e = norm.to_original(i, i + 1)
        assert 0 <= s <= e <= len(raw)
    for variant in norm.variants:
        assert len(variant) == len(norm.text)


def test_email_leetspeak_is_read() -> None:
    assert skeleton("write to d3c3ased@example.com").text.startswith("write to deceased")


def test_ascii_lookalikes_fold_one_for_one() -> None:
    from core.pii.normaliser import ascii_lookalikes

    disguised = "\u0430nn@ex\u0430mple.com"  # Cyrillic а twice
    assert ascii_lookalikes(disguised) == "ann@example.com"
    assert ascii_lookalikes("王伟 ann") == "王伟 ann"  # no look-alike: as it is
    assert len(ascii_lookalikes("Ｏ\u043e\u0440")) == 3


@given(st.text(alphabet=st.sampled_from("abkKLOSAIP01357 .-,;:()/\"'@$!|_`&#*?"), max_size=30))
def test_word_by_word_profile_equals_the_whole_text_searches(raw: str) -> None:
    """The memoised word-by-word reading of plain ASCII (_ascii_profile) answers exactly what the
    searches over the whole text answer: it may never skip a skeleton step or a case split."""
    from core.pii.normaliser import _ascii_profile, _has_case_change, _needs_work

    assert _ascii_profile(raw) == (_needs_work(raw), _has_case_change(raw))
    assert [n.text for n in skeletons(raw)] == [skeleton(raw).text] + (
        [skeleton(raw, split_case=True).text] if _has_case_change(raw) else []
    )


@pytest.mark.parametrize(
    ("raw", "work", "case"),
    [
        ("k i l l e d", True, False),  # one-character words in a row: across words
        ("R . I . P", True, False),  # with words of punctuation between them
        ("a . b - c", True, False),
        ("a b", False, False),  # two are initials
        ("x  y", True, False),  # two spaces
        ("Daughter_Killed", True, False),  # an underscore between words
        ("K1lled", True, False),
        ("DaughterKilled", False, True),  # a case split only
        ("Customer Number 12", False, False),
    ],
)
def test_word_by_word_profile_on_runs_across_words(raw: str, work: bool, case: bool) -> None:
    from core.pii.normaliser import _ascii_profile, _has_case_change, _needs_work

    assert _ascii_profile(raw) == (_needs_work(raw), _has_case_change(raw)) == (work, case)
