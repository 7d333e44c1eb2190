"""The analyser: offline, language per note, original offsets, JSON round trip."""

from __future__ import annotations

import pytest

from core.errors import InputError
from core.pii import ANALYSER_VERSION, Analysis, KnownRecords, PiiEngine


def test_shared_per_process() -> None:
    assert PiiEngine.create() is PiiEngine.create()


def test_leaked_note_incident(engine: PiiEngine) -> None:
    text = "The customer's relative died in a car accident last month."
    a = engine.analyse(text)
    assert a.sensitivity == "sensitive"
    assert set(a.labels) >= {"bereavement", "accident"}
    assert a.version == ANALYSER_VERSION


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Wants the winter catalogue.", "en"),
        ("想要冬季目录。", "zh"),
        ("Customer said 她丈夫去世了 and wants the winter catalogue soon", "mixed"),
    ],
)
def test_language(engine: PiiEngine, text: str, language: str) -> None:
    assert engine.analyse(text).language == language


def test_mixed_note_analysed_for_both(engine: PiiEngine) -> None:
    a = engine.analyse("Customer is in arrears and 她丈夫去世了, asked us to call back later")
    assert {"financial_distress", "bereavement"} <= set(a.labels)


def test_forced_language(engine: PiiEngine) -> None:
    assert engine.analyse("她去世了", lang="en").language == "en"
    with pytest.raises(InputError):
        engine.analyse("x", lang="fr")


def test_offsets_cover_original_characters(engine: PiiEngine) -> None:
    text = "手机：１３８\u200b００１３８０００，请回电"
    a = engine.analyse(text)
    phones = [text[f.start : f.end] for f in a.findings if f.type == "PHONE_NUMBER"]
    assert phones == ["１３８\u200b００１３８０００"]


def test_email_offline(engine: PiiEngine) -> None:
    a = engine.analyse("Email mary.jones@example.co.uk please")  # tldextract without the network
    assert any(f.type == "EMAIL_ADDRESS" for f in a.findings)


def test_sensitivity_levels(engine: PiiEngine) -> None:
    assert engine.analyse("asked about bulk pricing").sensitivity == "none"
    assert engine.analyse("call 07700 900123 about bulk pricing").sensitivity == "personal"
    assert engine.analyse("she is pregnant").sensitivity == "sensitive"


def test_record_aware(engine: PiiEngine) -> None:
    known = KnownRecords.from_pairs([("name", "Zanele Okonkwo-Baptiste")])
    a = engine.analyse("zanele okonkwo-baptiste wants the catalogue", known=known)
    assert any(f.type == "PERSON" and f.score == 1.0 for f in a.findings)


def test_analyse_many_matches_analyse(engine: PiiEngine) -> None:
    texts = ["Mary Jones is in hospital.", "想要冬季目录。", "asked about bulk pricing", "王女士怀孕了"]
    assert engine.analyse_many(texts) == [engine.analyse(t) for t in texts]


def test_json_round_trip_without_values(engine: PiiEngine) -> None:
    text = "Mary Jones (mary@example.com) lost her job."
    a = engine.analyse(text)
    blob = a.to_json()
    assert Analysis.from_json(blob) == a
    assert "Mary" not in blob and "example" not in blob


def test_bad_json_is_input_error() -> None:
    with pytest.raises(InputError):
        Analysis.from_json("{}")


def test_withheld_text_leaves_no_fact_behind(engine: PiiEngine) -> None:
    """Every sensitive note of the hand-written corpus (English and Chinese), masked for export: what is
    left, markers aside, holds no sensitive fact, and every note that had one shows a marker."""
    import re

    from corpus_tools import load_corpus

    from core.pii import EXPORT_POLICY, mask

    marker = re.compile(r"\[withheld: [a-z_, ]+\]")
    notes = [n for n in load_corpus() if any(s.sensitive for s in n.spans)]
    assert len(notes) >= 100
    for note, analysis in zip(notes, engine.analyse_many([n.text for n in notes]), strict=True):
        out = mask(note.text, analysis, policy=EXPORT_POLICY, hash_key=b"k" * 32)
        assert out is not None and marker.search(out), note.text
        rest = marker.sub(" ", out)
        assert engine.analyse(rest).labels == (), (note.text, out)
        for span in note.spans:
            if span.sensitive:
                assert note.text[span.start : span.end] not in rest, (note.text, out)


def test_instruction_beside_a_sensitive_fact_survives(engine: PiiEngine) -> None:
    from core.pii import EXPORT_POLICY, mask

    text = "Her father passed away last week, so please call after the 20th about the sofa order."
    out = mask(text, engine.analyse(text), policy=EXPORT_POLICY, hash_key=b"k" * 32)
    assert out is not None
    assert out.startswith("[withheld: bereavement],")
    assert "please call after" in out and "sofa order" in out
    assert "father" not in out and "passed away" not in out


def test_links_and_handles_do_not_make_a_chinese_note_mixed() -> None:
    from core.pii.language import detect_language

    assert (
        detect_language("地址：http://t.cn/zYimvPe（分享自@土豆网音乐）@mark 请查收 mary@example.com") == "zh"
    )
    assert detect_language("Customer said 她丈夫去世了 and wants the winter catalogue soon") == "mixed"


def test_long_runs_without_spaces_are_cut_for_the_english_tokenizer() -> None:
    from core.pii.engine import LONG_RUN, tokenizer_safe

    text = "ok " + "😀" * (3 * LONG_RUN) + " done"
    safe = tokenizer_safe(text)
    assert len(safe) == len(text)
    assert max(len(run) for run in safe.split()) <= LONG_RUN
    assert tokenizer_safe("Mary Jones lives in Leeds.") == "Mary Jones lives in Leeds."
