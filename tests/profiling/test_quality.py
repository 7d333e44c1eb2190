"""Data quality: blind-index duplicates, near-identical names, completeness, invalid values."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from core.errors import InputError
from core.profiling.quality import (
    DuplicateGroup,
    completeness,
    duplicate_groups,
    invalid_values,
    near_duplicate_names,
    normalise_name,
)


def test_duplicate_groups_link_shared_email_or_phone_transitively() -> None:
    rows = [
        ("c1", "e-A", "p-1"),
        ("c2", "e-A", None),  # same email as c1
        ("c3", None, "p-1"),  # same phone as c1
        ("c4", "e-B", "p-2"),
        ("c5", "e-C", "p-2"),  # same phone as c4 only
        ("c6", "e-D", "p-3"),  # unique
        ("c7", None, None),  # nothing to compare
    ]
    assert duplicate_groups(rows) == [
        DuplicateGroup(("c1", "c2", "c3"), ("email", "phone")),
        DuplicateGroup(("c4", "c5"), ("phone",)),
    ]


def test_email_and_phone_indexes_do_not_collide() -> None:
    # The same blind-index string in different fields is not a match.
    assert duplicate_groups([("c1", "X", None), ("c2", None, "X")]) == []


@pytest.mark.parametrize(
    ("name", "normalised"),
    [
        ("  José   GARCÍA ", "garcia jose"),  # accents, case and spaces
        ("García, José", "garcia jose"),  # punctuation and token order
        ("O'Brien-Smith", "brien o smith"),  # apostrophes and hyphens split tokens
    ],
)
def test_normalise_name(name: str, normalised: str) -> None:
    assert normalise_name(name) == normalised


def test_near_duplicate_names_found_and_distinct_names_not() -> None:
    names = [
        ("c1", "Jonathan Smith"),
        ("c2", "Smith, Jonathan"),  # same name, reordered
        ("c3", "Jonathon Smith"),  # one-letter typo
        ("c4", "Joan Smithers"),  # similar start, different person
        ("c5", "Maria Garcia"),
        ("c6", "María García"),  # accents only
        ("c7", "Mario Gomez"),
    ]
    pairs = {(p.first, p.second) for p in near_duplicate_names(names, threshold=0.9)}
    assert pairs == {("c1", "c2"), ("c1", "c3"), ("c2", "c3"), ("c5", "c6")}


def _random_word(rng: np.random.Generator, low: int, high: int) -> str:
    letters = rng.choice(list("abcdefghijklmnopqrstuvwxyz"), size=int(rng.integers(low, high)))
    return "".join(letters.tolist())


def test_near_duplicates_scale_with_blocking() -> None:
    # 100k synthetic names (300 first names x 400 surnames, random letters) with ten planted typos.
    rng = np.random.default_rng(1)
    firsts = [_random_word(rng, 4, 9) for _ in range(300)]
    lasts = [_random_word(rng, 5, 11) for _ in range(400)]
    names = [(f"c{k:06d}", f"{firsts[k % 300]} {lasts[k // 300]}") for k in range(100_000)]
    typo_targets = rng.choice(100_000, size=10, replace=False).tolist()
    for n, k in enumerate(typo_targets):
        first, last = names[k][1].split()
        names.append((f"t{n:02d}", f"{first} {last[:2]}{last[3:]}"))  # one letter dropped
    found = {(p.first, p.second) for p in near_duplicate_names(names, threshold=0.9)}
    assert found >= {(names[k][0], f"t{n:02d}") for n, k in enumerate(typo_targets)}


def test_bad_threshold_is_an_input_error() -> None:
    with pytest.raises(InputError):
        near_duplicate_names([], threshold=0.0)


def test_completeness_counts_blank_and_missing_as_absent() -> None:
    records: list[dict[str, object]] = [
        {"email": "a@example.org", "phone": None},
        {"email": "  ", "phone": "+44 20 7946 0000"},
        {"phone": "+44 20 7946 0001"},
    ]
    result = {c.field: (c.present, c.total) for c in completeness(records, ["email", "phone", "birth_date"])}
    assert result == {"email": (1, 3), "phone": (2, 3), "birth_date": (0, 3)}


def test_invalid_values_name_field_and_rule_only() -> None:
    today = date(2024, 6, 1)
    records: list[tuple[str, dict[str, object]]] = [
        ("c1", {"birth_date": date(2030, 1, 1), "email": "ok@example.org"}),  # future birth date
        ("c2", {"birth_date": "1850-05-05", "email": "no-at-sign"}),  # too old, malformed email
        ("c3", {"birth_date": "31/02/1990", "phone": "12"}),  # unparseable date, short phone
        ("c4", {"birth_date": "1990-02-28", "email": "x@y.org", "phone": "+44 (20) 7946-0000"}),  # all fine
        ("c5", {"birth_date": None, "email": ""}),  # missing values are not invalid
    ]
    found = [(v.customer_id, v.field, v.rule) for v in invalid_values(records, today=today)]
    assert found == [
        ("c1", "birth_date", "in_future"),
        ("c2", "birth_date", "too_old"),
        ("c2", "email", "malformed"),
        ("c3", "birth_date", "unparseable"),
        ("c3", "phone", "malformed"),
    ]
