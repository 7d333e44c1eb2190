"""More ways to write a remark so that a word list misses it (issue 12), each applied to every remark.

Small capitals (``ᴅᴇᴄᴇᴀꜱᴇᴅ``), a lower-case ``l`` for a capital ``I`` in a word in capitals
(``RlP``, ``KlLLED``), a remark spelled out letter by letter with wider gaps between its
words (``K.i.l.l.e.d. .I.n``), and words joined by slashes (``Son/Passed/Away``).  The screen must find each in a name and in an address field.
"""

from __future__ import annotations

import pytest

from core.pii.screen import CustomerFieldScreen

SCREEN = CustomerFieldScreen()
REMARKS = [
    "Daughter Killed In Car Crash",
    "Son Passed Away",
    "Husband Deceased",
    "Wife Has Terminal Cancer",
    "In Prison",
    "Recently Widowed",
    "Suicide",
    "RIP",
]
_SMALL = dict(zip("abcdefghijklmnopqrstuvwxyz", "ᴀʙᴄᴅᴇꜰɢʜɪᴊᴋʟᴍɴᴏᴘǫʀꜱᴛᴜᴠᴡxʏᴢ", strict=True))


def small_capitals(text: str) -> str:
    return "".join(_SMALL.get(c.lower(), c) for c in text)


def capitals_with_l(text: str) -> str:
    return text.upper().replace("I", "l")


def spelled_out(text: str) -> str:
    return ".".join(text)  # D.a.u.g.h.t.e.r. .K.i.l.l.e.d


def slashed(text: str) -> str:
    return text.replace(" ", "/")  # Son/Passed/Away


EVASIONS = [small_capitals, capitals_with_l, spelled_out, slashed]


@pytest.mark.parametrize("word", ["MUSlIM", "BIPOlAR", "FUNERAl", "JAIl", "TERMINAl IlLNESS"])
def test_a_word_in_capitals_with_one_small_l_is_read_both_ways(word: str) -> None:
    """l for I is a second reading: a small l where an L belongs still reads as L."""
    assert flagged(f"Ann Lee {word}", "1 Elm Road, Leeds LS1 1AA"), word


def flagged(name: str, address: str) -> bool:
    _sensitivity, analysis = SCREEN.screen_fields({"full_name": name, "postal_address": address})
    return analysis is not None


@pytest.mark.parametrize("evasion", EVASIONS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("remark", REMARKS)
def test_every_evasion_of_every_remark_is_found(remark: str, evasion: object) -> None:
    assert callable(evasion)
    written = evasion(remark)
    assert flagged(f"John Smith {written}", "1 Elm Road, Leeds LS1 1AA"), written
    assert flagged("Ann Lee", f"1 Elm Road {written}, Leeds LS1 1AA"), written


@pytest.mark.parametrize(
    ("name", "address"),
    [
        ("JOHN SMITH", "12 HIGH STREET, LEEDS LS1 1AA"),  # capitals without any l
        ("LLOYD WILLIAMS", "1 LLANDAFF ROAD, CARDIFF CF11 9AA"),  # capitals with real L
        ("J. R. R. Tolkien", "20 Northmoor Road, Oxford OX2 6UP"),  # three initials
        ("A. P. J. Abdul Kalam", "10 Rajaji Marg, New Delhi 110011"),
        ("Ann Lee", "Flat B, Block C, 1 Elm Road, Leeds LS1 1AA"),  # single-letter units
        ("Ramesh Kumar", "S/O Suresh Kumar, 12/4 MG Road, Bengaluru 560001"),  # slashes in addresses
        ("Ann Lee", "Flat 2/3, c/o Mr Smith, 1 Elm Road, Leeds LS1 1AA"),
    ],
)
def test_innocent_names_and_addresses_pass(name: str, address: str) -> None:
    assert not flagged(name, address)


@pytest.mark.parametrize(
    "name",
    [
        "上官婉儿",  # a compound surname the surname list lacks
        "伊丽莎白",  # transliterated names, no middle dot
        "迪丽热巴",
        "阿依古丽",
        "克里斯蒂娜",
        "迪丽热巴女士",
    ],
)
def test_chinese_names_the_rules_do_not_know_are_names(name: str) -> None:
    assert not flagged(name, "北京市朝阳区建国路88号")


@pytest.mark.parametrize(
    "name",
    [
        "王伟已故",
        "陈大文车祸",
        "李娜过世",
        "王芳住院",
        "欧阳丽丽去世",
        "生病住院",
        # the model's name-leaning reading calls each of these one person; its best reading does not
        "王伟寡妇",
        "杨帆梅毒",
        "陈静淋病",
        "刘洋瞎子",
        "张敏保释",
        "王伟喇嘛",  # read as one person even at best: its last two characters are a word (a monk)
    ],
)
def test_a_remark_after_a_chinese_name_is_still_extra_text(name: str) -> None:
    assert flagged(name, "北京市朝阳区建国路88号")


@pytest.mark.parametrize(
    "address",
    [
        "12 Elm Road (husband p4ssed aw4y), Leeds LS1 4AP",
        "12 Elm Road, Leeds LS1 4AP - Re5t In Peace",
    ],
)
def test_a_leetspeak_remark_beside_a_postcode_is_found(address: str) -> None:
    """p4ssed, Re5t: a remark in leetspeak beside a postcode is found (a postcode-shaped word such as
    aw4y alone is not read as letters: see the README)."""
    level, _analysis = SCREEN.screen_fields({"postal_address": address})
    assert level == "sensitive"


@pytest.mark.parametrize(
    "address",
    [
        "1 Horse Guards Road, London SW1A 2HQ",
        "200 Aldersgate, London EC1A 4HD",
        "10 Broadcasting House, London W1A 1AA",
        "5 Strand, London WC2N 5DU",
        "9 Great Eastern Street, London EC2A 3EP",
        "2 Melton Street, London NW1W 2BS",
    ],
)
def test_real_postcodes_read_as_letters_stay_harmless(address: str) -> None:
    level, _analysis = SCREEN.screen_fields({"postal_address": address})
    assert level == "personal"
