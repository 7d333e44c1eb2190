"""The outbound gate: sensitive categories, foreign identifiers, stored analysis, the template."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import InputError
from core.export.gate import (
    FOREIGN_IDENTIFIER,
    LETTER,
    STORED_ANALYSIS,
    GateReason,
    Letter,
    OutboundGate,
    StaticOwners,
)
from core.pii.screen import SensitiveScreen

ME = "p_me"
OTHER = "p_other"
OTHER_PHONE = "+447700900123"
OTHER_EMAIL = "other@example.com"
OWNERS = StaticOwners(
    {
        ("phone", OTHER_PHONE): frozenset({OTHER}),
        ("email", OTHER_EMAIL): frozenset({OTHER}),
        ("email", "me@example.com"): frozenset({ME}),
    }
)


def gate() -> OutboundGate:
    return OutboundGate(owners=OWNERS, phone_region="GB")


def letter(text: str, **values: str) -> Letter:
    return Letter(pseudonym=ME, text=text, values=values)


@pytest.mark.parametrize(
    ("values", "template", "expected"),
    [
        # the broker list's name line, merged as the name
        (
            {"full_name": "Daughter Killed in Car Crash"},
            "Dear {full_name},\nOur winter sale starts now.",
            {
                GateReason("accident", "full_name"),
                GateReason("bereavement", "full_name"),
                GateReason("name_extra_text", "full_name"),
            },
        ),
        # a Chinese address carrying a remark
        ({"postal_address": "北京市朝阳区 丈夫车祸去世"}, "{postal_address}", None),
        # another customer's phone number in the address line
        (
            {"postal_address": "12 King Street, Leeds, call 07700 900123"},
            "To: {postal_address}",
            {
                GateReason(FOREIGN_IDENTIFIER, "postal_address"),
                GateReason("address_extra_text", "postal_address"),
            },
        ),
        # another customer's email, with look-alike full-width characters
        (
            {"full_name": "Ann ｏｔｈｅｒ@example.com"},
            "Dear {full_name}",
            {GateReason(FOREIGN_IDENTIFIER, "full_name"), GateReason("name_extra_text", "full_name")},
        ),
        # an unknown phone number in a free-text field is not the recipient's own either
        (
            {"postal_address": "12 King Street (daughter: 07700 900999)"},
            "{postal_address}",
            {
                GateReason(FOREIGN_IDENTIFIER, "postal_address"),
                GateReason("address_extra_text", "postal_address"),
            },
        ),
        # a term spanning value and template text: no single field explains it
        (
            {"first_name": "passed"},
            "Oliver {first_name} away",
            {GateReason("bereavement", LETTER), GateReason("name_extra_text", "first_name")},
        ),
    ],
)
def test_withheld(values: dict[str, str], template: str, expected: set[GateReason] | None) -> None:
    reasons = gate().check(letter(template.format(**values), **values))
    assert reasons
    if expected is not None:
        assert set(reasons) == expected
    for reason in reasons:  # reasons name a category and a field, never content
        assert set(reason.to_dict()) == {"category", "field"}
        assert all(v not in reason.field for v in values.values())


@pytest.mark.parametrize(
    ("values", "template"),
    [
        ({"full_name": "Oliver Smith", "city": "Leeds"}, "Dear {full_name},\nNew in {city}: coats."),
        ({"email": "me@example.com"}, "Your account: {email}"),  # the recipient's own email
        ({"full_name": "王伟", "city": "北京市"}, "尊敬的{full_name}，{city}门店冬季促销。"),
        ({"full_name": "Ava Jones"}, "Dear {full_name}, call us on 0800 123 4567."),  # nobody's number
    ],
)
def test_clean_letters_pass(values: dict[str, str], template: str) -> None:
    assert gate().check(letter(template.format(**values), **values)) == ()


def test_stored_analysis_withholds_merged_text_fields() -> None:
    item = Letter(pseudonym=ME, text="Dear Ann", values={"first_name": "Ann"}, stored_sensitive=True)
    assert gate().check(item) == (GateReason(STORED_ANALYSIS, "first_name"),)
    only_email = Letter(
        pseudonym=ME, text="me@example.com", values={"email": "me@example.com"}, stored_sensitive=True
    )
    assert gate().check(only_email) == ()  # the flagged text is not in this letter


class CountingGate(OutboundGate):
    def __init__(self) -> None:
        super().__init__(owners=StaticOwners(), phone_region="GB")
        self.scanned: list[str] = []

    def _scan_line(self, line: str) -> Any:
        self.scanned.append(line)
        return super()._scan_line(line)


def test_fixed_lines_are_scanned_once() -> None:
    g = CountingGate()
    body = "Our helpline: 0800 123 4567\nKind regards"
    for name in ("Ann", "Bob", "Cy"):
        assert g.check(letter(f"Dear {name}\n{body}", first_name=name)) == ()
    assert g.scanned.count("Our helpline: 0800 123 4567") == 1
    assert g.scanned.count("Kind regards") == 1
    assert sorted(t for t in g.scanned if t.startswith("Dear")) == ["Dear Ann", "Dear Bob", "Dear Cy"]


@pytest.mark.parametrize(
    ("template", "line"),
    [
        ("Dear {{ first_name }},\n\nWe were sorry to hear about your loss.\nBest", 3),  # condolence
        ("Dear {{ first_name }},\n\nWe hope you enjoy the sale.\nBest", None),
        ("Dear {{ first_name }},\nSo sorry your husband died.\n", 2),
        ("Hello\n\n\n亲人去世\n", 4),
    ],
)
def test_sensitive_template_is_refused(template: str, line: int | None) -> None:
    if line is None:  # ordinary marketing wording passes
        gate().check_template(template)
        return
    with pytest.raises(InputError, match=f"template line {line} carries sensitive content"):
        gate().check_template(template)


def test_template_with_a_customers_phone_is_refused() -> None:
    with pytest.raises(InputError, match="template line 2 carries a customer's phone"):
        gate().check_template("Dear {{ first_name }}\nRing 07700 900123 today\n")


_WORDS = st.sampled_from(
    ["Dear", "Oliver", "husband", "died", "in", "a", "car", "accident", "passed", "away", "sale", "\n", "  ",
     "chemo", "朝阳区", "去世", "07700", "900123", "hospital", ",", "pregnant", "x"]
)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(st.lists(_WORDS, max_size=40))
def test_line_by_line_with_joints_covers_the_whole_letter(words: list[str]) -> None:
    """The per-line cache is only an optimisation: lines plus their joints find what one pass finds."""
    text = " ".join(words)
    g = gate()
    by_line = {c for line in text.split("\n") for c in g.categories(line)}
    whole = set(g.categories(text))
    assert by_line <= whole
    assert {r.category for r in g.check(letter(text))} >= whole


_TEXT = st.text(
    alphabet=st.sampled_from(list("abcdeghiklmnoprstuwy &'-AEKLO0157\n去世车祸癌孕ｄｉｅ")), max_size=60
) | st.lists(
    st.sampled_from(
        ["died", "car crash", "A & E", "hospital", "pregnant", "his", "GP", "passed away", "去世", " "]
    ),
    max_size=8,
).map(" ".join)


@settings(max_examples=300, deadline=None)
@given(_TEXT)
def test_prefilter_never_hides_a_match(text: str) -> None:
    """The literal pre-filter only skips texts in which the term regex finds nothing."""
    screen = SensitiveScreen.shared()
    full = tuple(sorted({f.category for f in screen.findings(text)}))
    assert gate().categories(text) == full


@settings(max_examples=300, deadline=None)
@given(_TEXT)
def test_list_prefilter_never_hides_a_match(text: str) -> None:
    """The multi-list pre-filter (core.export.prefilter) only says no where the screen finds nothing."""
    from core.export.prefilter import TermPrefilter
    from core.pii.recognizers.sensitive_terms_en import TERMS_EN
    from core.pii.recognizers.sensitive_terms_zh import TERMS_ZH

    prefilter = TermPrefilter([(TERMS_EN, True), TERMS_ZH])
    assert prefilter.exact
    if SensitiveScreen.shared().findings(text):
        assert prefilter.maybe(text)


def test_condolence_template_split_over_lines_is_refused() -> None:
    with pytest.raises(InputError, match="template carries sensitive content"):
        gate().check_template("Dear {{ first_name }},\nwe are so sorry for your\nloss this winter.\n")
    with pytest.raises(InputError, match="sensitive content"):
        gate().check_template("{{ full_name }}：\n惊闻噩耗，深表哀悼。\n")


def test_street_and_surname_exemptions_reach_the_letter() -> None:
    """A surname that is a word (Sick) and a street that is one (Hospital Road) do not withhold a letter,
    while the same words as a remark do."""
    values = {"full_name": "Anna Sick", "postal_address": "4 Hospital Road, Leeds LS1 1AA"}
    text = "Anna Sick\n4 Hospital Road, Leeds LS1 1AA\n\nDear Anna Sick,\nOur sale starts now.\n"
    assert gate().check(letter(text, **values)) == ()
    remark = {"full_name": "Anna Lee", "postal_address": "4 Elm Road (son off sick, in hospital)"}
    text = "Anna Lee\n4 Elm Road (son off sick, in hospital)\n\nOur sale starts now.\n"
    reasons = gate().check(letter(text, **remark))
    assert GateReason("health", "postal_address") in reasons
    assert GateReason("address_extra_text", "postal_address") in reasons


def test_no_plaintext_in_reprs() -> None:
    """A letter, its normalised text and a term match never show their content in a repr (logs, tracebacks)."""
    from core.pii.normaliser import normalise

    secret = "Anna Secretname, HIV clinic"
    shown = repr(Letter(ME, secret, {"full_name": secret}))
    shown += repr(normalise(secret)) + repr(SensitiveScreen.shared().matches(secret))
    assert "Secretname" not in shown
    assert "secretname" not in shown.casefold()
    assert "hiv" not in shown.casefold()


# -- identifiers in disguise (issue 12) ------------------------------------------------------------

_CYRILLIC = {"a": "\u0430", "e": "\u0435", "o": "\u043e", "p": "\u0440", "c": "\u0441"}


@pytest.mark.parametrize("swap", ["a", "e", "o", "p", "c"])
@pytest.mark.parametrize("template", ["Dear {full_name}", "Write to us\n{full_name}\nThank you"])
def test_a_non_recipients_email_with_cyrillic_look_alikes_is_caught(swap: str, template: str) -> None:
    """Another customer's e-mail written with a Cyrillic look-alike letter is still theirs."""
    disguised = OTHER_EMAIL.replace(swap, _CYRILLIC[swap])
    assert not disguised.isascii()
    values = {"full_name": f"Ann Lee {disguised}"}
    reasons = gate().check(letter(template.format(**values), **values))
    assert GateReason(FOREIGN_IDENTIFIER, "full_name") in reasons


def test_own_email_with_a_look_alike_is_not_foreign() -> None:
    """Folding look-alikes finds the address it imitates; the recipient's own one passes."""
    own = "me@example.com".replace("e", _CYRILLIC["e"], 1)
    g = gate()
    assert ("email", "me@example.com") in g.identifiers(f"Write to {own}")
    assert g.check(letter("Your account: me@example.com", email="me@example.com")) == ()


@pytest.mark.parametrize(
    "written",
    [
        "0 7 7 0 0 9 0 0 1 2 3",  # digit by digit
        "0  7  7  0  0  9  0  0  1  2  3",  # two spaces between digits
        "0-7-7-0-0-9-0-0-1-2-3",
        "+ 4 4 7 7 0 0 9 0 0 1 2 3".replace("+ ", "+"),
        "07700 900 123",
        "(07700) 900-123",
    ],
)
def test_a_non_recipients_phone_written_digit_by_digit_is_caught(written: str) -> None:
    values = {"postal_address": f"12 King Street, ring {written}"}
    g = gate()
    assert ("phone", OTHER_PHONE) in g.identifiers(values["postal_address"])
    reasons = g.check(letter("{postal_address}".format(**values), **values))
    assert GateReason(FOREIGN_IDENTIFIER, "postal_address") in reasons


@pytest.mark.parametrize(
    "text",
    ["Flat 1 2 3 High Street", "Order 12 3 4", "Room 101, 2 4 6", "1 2 3 4 5 6"],
)
def test_short_digit_groups_are_no_phone(text: str) -> None:
    """Fewer than seven digits, or numbers that are no phone number, are not identifiers."""
    assert [kind for kind, _ in gate().identifiers(text) if kind == "phone"] == []


def test_phone_pattern_stays_linear_on_long_spaced_digit_runs() -> None:
    import time

    g = gate()
    short, long = "1 " * 500, "1 " * 8_000
    t0 = time.perf_counter()
    g.identifiers(short)
    t_short = time.perf_counter() - t0
    t0 = time.perf_counter()
    g.identifiers(long)
    t_long = time.perf_counter() - t0
    assert t_long < max(t_short, 1e-3) * 16 * 8  # 16x the input: linear growth, with slack


def test_a_town_taken_from_the_address_is_read_with_the_address() -> None:
    """ "South Christian" is a town where the address has it before its postcode: merged alone as the
    city it is no remark.  Without its address the gate cannot tell, and withholds (fails closed)."""
    address = "Flat 8, Leah Walk, South Christian, L1A 8BH"
    text = "Dear customer,\nAs a valued customer in South Christian, you are invited.\n"
    town = Letter(
        pseudonym=ME, text=text, values={"city": "South Christian"}, sources={"postal_address": address}
    )
    assert gate().check(town) == ()
    assert GateReason("religion", "city") in gate().check(letter(text, city="South Christian"))
    # a remark in the address where the same word is no town: the town's word is not exempted
    remark = "Flat 8 (Christian, pls no Sunday calls), South Christian, L1A 8BH"
    assert GateReason("religion", "city") in gate().check(
        Letter(
            pseudonym=ME, text=text, values={"city": "South Christian"}, sources={"postal_address": remark}
        )
    )


def test_a_name_line_over_an_address_line_is_no_phrase() -> None:
    """ "Burns" ending the name and "Unit 38" opening the address are two values, each checked alone:
    no "burns unit".  A joint with the template's own text is still read."""
    values = {
        "full_name": "Meredith Burns",
        "postal_address": "Unit 38 3 Edwards Subway, Collinton, SA, 2998",
    }
    text = "Meredith Burns\nUnit 38 3 Edwards Subway, Collinton, SA, 2998\n\nOur sale starts now.\n"
    assert gate().check(letter(text, **values)) == ()
    text = "Our thoughts are with you after your son passed\nAway Road, Leeds LS1 1AA\n"
    assert gate().check(letter(text, postal_address="Away Road, Leeds LS1 1AA")) != ()


@pytest.mark.parametrize(
    "address",
    [
        "1200 SW Main St, Portland, OR 97201-1234",  # ZIP+4
        "Rua Augusta 12, São Paulo - SP, 01310-100",  # Brazilian CEP
        "1-1 Chiyoda, Chiyoda-ku, Tokyo 100-0001",  # Japanese postcode
    ],
)
def test_a_postcode_with_many_digits_is_no_stray_phone_number(address: str) -> None:
    text = f"Ann Lee\n{address}\n\nOur sale starts now.\n"
    assert gate().check(letter(text, full_name="Ann Lee", postal_address=address)) == ()


def test_a_phone_number_in_an_address_is_still_withheld() -> None:
    address = "12 King Street, Leeds LS1 4AP (ring 0161 496 0000)"
    text = f"Ann Lee\n{address}\n\nOur sale starts now.\n"
    assert GateReason(FOREIGN_IDENTIFIER, "postal_address") in gate().check(
        letter(text, postal_address=address)
    )
