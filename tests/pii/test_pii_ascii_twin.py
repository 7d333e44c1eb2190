"""The ASCII twin reads exactly like the original: same skeleton, same screen verdicts, faster."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.pii.ascii_twin import MAX_CHARS, _TwinTable, ascii_twin
from core.pii.normaliser import skeletons
from core.pii.screen import CustomerFieldScreen, SensitiveScreen

# Letters a Latin-script name or address uses, look-alikes from other scripts, full-width letters,
# typographic apostrophes, and characters that have no twin (ł, ß, ø, invisible ones, Chinese).
_ACCENTED = "àáâãäåçèéêëìíîïñòóôõöùúûüýÿÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÕÖÙÚÛÜÝčďěňřšťůžČĎĚŇŘŠŤŮŽąęńśźżĄĘŃŚŹŻğıİşĞŞ"
_LOOKALIKES = "КСАаеоРрхуіΙΟοΑαЅѕ"  # Cyrillic and Greek letters that read as Latin ones
_FULL_WIDTH = "ＤａｕｇｈｔｅｒＫｉｌｅｄ"
_NO_TWIN = "łŁßẞﬁøØæÆ\u200b\u00ad\u00a0ǅ车祸"
_ALPHABET = (
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,-_'’@$!|()\n"
    + _ACCENTED
    + _LOOKALIKES
    + _FULL_WIDTH
    + _NO_TWIN
)
_REMARKS = [
    "Daughter Killed in Car Crash",
    "Mrs Ann Lee (RIP)",
    "Wife has terminal cancer",
    "late husband Fred",
    "passed away 2022",
    "k i l l e d",
]


def _views(text: str) -> list[tuple[str, tuple[str, ...]]]:
    return [(norm.text, norm.variants) for norm in skeletons(text)]


@pytest.mark.parametrize(
    ("text", "twin"),
    [
        ("Zoë Müller", "Zoe Muller"),
        ("Ciechanów", "Ciechanow"),
        ("O’Brien", "O'Brien"),
        ("İstanbul", "Istanbul"),
        ("Daughter Кilled in Саr Crash", "Daughter Killed in Car Crash"),
        ("Ｄａｕｇｈｔｅｒ", "Daughter"),
        ("plain ASCII stays", "plain ASCII stays"),
        ("Łódź", None),  # ł folds to itself: no ASCII twin
        ("Straße", "Strasse"),  # a small letter that folds to two small letters
        ("STRAẞE", None),  # a capital that folds to two letters would split a glued word
        ("ﬁnal", "final"),
        ("k\u200bi", None),  # an invisible character folds to nothing
        ("陈大文", None),
    ],
)
def test_twin_examples(text: str, twin: str | None) -> None:
    assert ascii_twin(text) == twin


@given(st.text(alphabet=_ALPHABET, max_size=60))
@settings(max_examples=600, deadline=None)
def test_twin_has_the_same_skeleton(text: str) -> None:
    twin = ascii_twin(text)
    if twin is None:
        return
    assert twin.isascii() and len(twin) >= len(text)
    assert _views(twin) == _views(text)


@given(
    st.sampled_from(_REMARKS),
    st.lists(st.tuples(st.integers(0, 40), st.sampled_from(_ACCENTED + _LOOKALIKES)), max_size=4),
)
@settings(max_examples=300, deadline=None)
def test_surely_clean_agrees_with_findings_on_accented_and_disguised_text(
    remark: str, edits: list[tuple[int, str]]
) -> None:
    """surely_clean reads twins; it may say "maybe" more often than findings finds, never less."""
    chars = list(remark)
    for at, ch in edits:
        if at < len(chars) and chars[at].isalpha():
            chars[at] = ch
    text = "".join(chars)
    screen = SensitiveScreen.shared()
    if screen.findings(text) or screen.findings("Zoë Müller") or screen.findings(text + " ; Zoë Müller"):
        assert not screen.surely_clean([text, "Zoë Müller"])


def test_accented_customers_screen_as_before() -> None:
    screen = CustomerFieldScreen()
    assert screen.screen_fields(
        {"full_name": "José María Núñez", "postal_address": "Calle Mayor 5, Córdoba"}
    ) == (
        "personal",
        None,
    )
    level, analysis = screen.screen_fields(
        {"full_name": "Zoë Müller Dаughter Кilled in Саr Crash", "postal_address": "Hauptstraße 5, München"}
    )
    assert level == "sensitive" and analysis is not None


def test_the_table_is_bounded() -> None:
    table = _TwinTable()
    text = "".join(chr(0x4E00 + i) for i in range(MAX_CHARS + 100))
    text.translate(table)
    assert len(table) == MAX_CHARS
