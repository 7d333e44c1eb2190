"""A date to the day keeps its written year (HIPAA Safe Harbor, 45 CFR 164.514(b)(2)(i)(C)): analyser 1.4.3.

Only the month and day are the finding, so the mask, the stored span and every export agree; a date
without a year, or with a year that may tell an age over 89 (80 or more years back), is masked whole;
the other date rules (a year or a month alone, relative dates) stay.
"""

from __future__ import annotations

import datetime as dt

import pytest

from core.pii import EXPORT_POLICY, PiiEngine, mask
from core.pii.analysis import year_kept
from core.pii.engine import without_year
from core.pii.recognizers.zh_entities import numeric_dates

KEY = b"dates-year-key-0123456789abc"


def _dates(engine: PiiEngine, text: str, lang: str) -> tuple[str, list[str]]:
    analysis = engine.analyse(text, lang=lang)
    out = mask(text, analysis, policy=EXPORT_POLICY, hash_key=KEY)
    assert out is not None
    return out, [text[f.start : f.end] for f in analysis.findings if f.type == "DATE_TIME"]


@pytest.mark.parametrize(
    ("text", "masked", "finding"),
    [
        ("客户2013年3月5日到店", "客户2013年<DATE_TIME>到店", "3月5日"),
        ("客户二〇一三年三月五日到店", "客户二〇一三年<DATE_TIME>到店", "三月五日"),
        ("客户于2013-03-05到店", "客户于2013-<DATE_TIME>到店", "03-05"),
        ("客户于2013/3/5到店", "客户于2013/<DATE_TIME>到店", "3/5"),
        ("客户于2013.3.5到店", "客户于2013.<DATE_TIME>到店", "3.5"),
        ("客户于5/3/2013到店", "客户于<DATE_TIME>/2013到店", "5/3"),
        # Traditional characters: analysed in Simplified, spans on the original text
        ("客戶於2013年3月5日來店，電話沒接", "客戶於2013年<DATE_TIME>來店，電話沒接", "3月5日"),
    ],
)
def test_chinese_date_keeps_its_year(engine: PiiEngine, text: str, masked: str, finding: str) -> None:
    out, found = _dates(engine, text, "zh")
    assert out == masked
    assert found == [finding]


@pytest.mark.parametrize(
    ("text", "masked", "finding"),
    [
        # a year 80 or more years back may be a year of birth that tells an age over 89: masked too
        ("客户1935年3月5日出生", "客户<DATE_TIME>出生", "1935年3月5日"),
        ("客户一九三五年三月五日出生", "客户<DATE_TIME>出生", "一九三五年三月五日"),
        ("客户于1935-03-05出生", "客户于<DATE_TIME>出生", "1935-03-05"),
        # a two-digit year may be of either century: it stays only when both may
        ("客户98年3月5号来过", "客户98年<DATE_TIME>来过", "3月5号"),
        ("客户13年3月5号来过", "客户<DATE_TIME>来过", "13年3月5号"),
    ],
)
def test_chinese_year_that_may_tell_an_age_is_masked(
    engine: PiiEngine, text: str, masked: str, finding: str
) -> None:
    out, found = _dates(engine, text, "zh")
    assert out == masked
    assert found == [finding]


def test_year_kept_window() -> None:
    today = dt.date(2026, 12, 7)
    assert year_kept(2013, today=today) and year_kept(1947, today=today) and year_kept(2030, today=today)
    assert not year_kept(1946, today=today) and not year_kept(1891, today=today)
    assert not year_kept(1855, today=today)  # a person born then may have died within the last 50 years
    assert year_kept(1853, today=today) and year_kept(1545, today=today)  # history: no one's age


def test_a_date_in_history_keeps_its_year(engine: PiiEngine) -> None:
    out, _ = _dates(engine, "波城古堡始建于1545年3月5日，客户1935年3月5日出生", "zh")
    assert "1545年" in out and "3月5日，" not in out, out
    assert "1935" not in out, out


@pytest.mark.parametrize("text", ["客户3月5日到店", "客戶三月五日來店"])
def test_chinese_date_without_year_is_masked_whole(engine: PiiEngine, text: str) -> None:
    out, found = _dates(engine, text, "zh")
    assert "5日" not in out and "五日" not in out, out
    assert "<DATE_TIME>" in out
    assert len(found) == 1 and "月" in found[0]


def test_chinese_other_date_rules_unchanged(engine: PiiEngine) -> None:
    out, found = _dates(engine, "客户2013年3月来过，去年12月23日下午下过单", "zh")
    assert found == ["12月23日"]
    assert out == "客户2013年3月来过，去年<DATE_TIME>下午下过单"


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("Customer visited on March 5, 2013.", "Customer visited on <DATE_TIME>, 2013."),
        ("Customer visited on 5 March 2013.", "Customer visited on <DATE_TIME> 2013."),
        ("Delivered Dec. 5, 1999 as agreed.", "Delivered <DATE_TIME>, 1999 as agreed."),
    ],
)
def test_english_date_keeps_its_year(engine: PiiEngine, text: str, masked: str) -> None:
    out, found = _dates(engine, text, "en")
    assert out == masked
    assert found and not any(f[-4:].isdigit() for f in found), found  # no finding ends with the year


@pytest.mark.parametrize(
    ("text", "gone"), [("Customer visited on March 5.", "March 5"), ("Born on March 5, 1935.", "1935")]
)
def test_english_date_without_year_is_masked_whole(engine: PiiEngine, text: str, gone: str) -> None:
    out, _ = _dates(engine, text, "en")
    assert gone not in out and "<DATE_TIME>" in out, out


@pytest.mark.parametrize(
    ("value", "kept"),
    [
        ("March 5, 2013", "March 5"),
        ("Tuesday, March 5th, 2013", "Tuesday, March 5th"),
        ("the 5th of March 2013", "the 5th of March"),
        ("Jan 3rd of 2020", "Jan 3rd"),
        ("2013-03-05", "03-05"),
        ("03/05/2013", "03/05"),
        # not a date to the day with its year: the whole value
        ("March 2013", "March 2013"),
        ("2013", "2013"),
        ("March 5", "March 5"),
        ("March 5, 2013 at 3pm", "March 5, 2013 at 3pm"),
        ("13/13/2013", "13/13/2013"),
        ("2013-13-05", "2013-13-05"),
        ("March 5, 1935", "March 5, 1935"),  # a year that may tell an age over 89
        ("1935-03-05", "1935-03-05"),
    ],
)
def test_without_year(value: str, kept: str) -> None:
    start, end = without_year("DATE_TIME", value)
    assert value[start:end] == kept
    assert without_year("PERSON", value) == (0, len(value))


@pytest.mark.parametrize(
    ("text", "spans"),
    [
        ("于2013-03-05到店", ["03-05"]),
        ("2013/12/31和1999.1.2", ["12/31", "1.2"]),
        ("25/3/2013", ["25/3"]),
        ("1935-03-05，5/3/1935", ["1935-03-05", "5/3/1935"]),  # a year that may tell an age over 89
        # not dates: a longer run of digits and separators, an impossible month or day, no separator
        ("版本v1.2013.3.5", []),
        ("编号2013-03-05-7", []),
        ("2013-13-05", []),
        ("2013-03-32", []),
        ("20130305", []),
        ("13/13/2013", []),
        ("2013-3/5", []),
    ],
)
def test_numeric_dates(text: str, spans: list[str]) -> None:
    assert [text[s:e] for s, e in numeric_dates(text)] == spans


def test_numeric_dates_linear_on_long_runs() -> None:
    # a long run of date-like pieces: one pass, every match found
    text = "2013-03-05，" * 5000
    assert len(numeric_dates(text)) == 5000
