"""Place names from public reference data (GeoNames, ISO 3166), folded for matching.

The list is built offline by ``scripts/build_gazetteers.py`` into
``core/pii/data/places.txt.gz`` and shipped with the package: nothing downloads,
and loading it (once per process, about 0.2 s) needs no third-party package.
Keys are folded (:func:`fold`): compatibility-decomposed, accents dropped,
case-folded, whitespace collapsed, so "MÖNSTERÅS", "Mönsterås" and "monsteras"
meet.  Whether a match in a text is a place is the recognizer's decision
(capitalisation and context, :mod:`core.pii.recognizers.places`): a gazetteer
alone would mask every "Bath" and "Mobile".
"""

from __future__ import annotations

import gzip
import importlib
import importlib.util
import pkgutil
import re
import sys
import unicodedata
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Final

from core.errors import ConfigError

DATA_FILE: Final = "places.txt.gz"
MAX_WORDS: Final = 4
_FIRST_COLUMN: Final = re.compile(r"^[^ \n]+", re.MULTILINE)


def fold(name: str) -> str:
    if name.isascii():
        return " ".join(name.lower().split())  # the same as below, without the per-character work
    decomposed = unicodedata.normalize("NFKD", name)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.casefold().replace("’", "'").split())


@dataclass(frozen=True, slots=True)
class Gazetteer:
    countries: frozenset[str]
    places: frozenset[str]

    def kind(self, name: str) -> str | None:
        key = fold(name)
        if key in self.countries:
            return "country"
        if key in self.places:
            return "place"
        return None


def read_tagged_lines(data_file: str, what: str) -> Iterator[tuple[str, str]]:
    """The ``kind<TAB>value`` lines of a gzipped list shipped in ``core/pii/data``, one at a time.

    Streamed, never held whole: the place list has some 150,000 lines, and a decompressed copy with a
    list of their parts cost the process some 30 MB of heap that it kept after the sets were built.
    A missing or unreadable file is a configuration error naming ``what``.
    """
    try:
        with (
            resources.files("core.pii.data").joinpath(data_file).open("rb") as raw,
            gzip.open(raw, "rt", encoding="utf-8") as text,
        ):
            for line in text:
                kind, _, value = line.rstrip("\n").partition("\t")
                yield kind, value
    except (OSError, EOFError, UnicodeDecodeError, zlib.error) as exc:
        raise ConfigError(f"{what} core/pii/data/{data_file} is missing or damaged") from exc


@lru_cache(maxsize=1)
def gazetteer() -> Gazetteer:
    """The shipped gazetteer; a missing or unreadable file is a configuration error."""
    countries: set[str] = set()
    places: set[str] = set()
    for kind, key in read_tagged_lines(DATA_FILE, "the place gazetteer"):
        if kind == "country":
            countries.add(key)
        elif kind == "place":
            places.add(key)
    if not countries or not places:
        raise ConfigError(f"the place gazetteer core/pii/data/{DATA_FILE} is empty")
    return Gazetteer(countries=frozenset(countries), places=frozenset(places - countries))


@lru_cache(maxsize=1)
def english_stop_words() -> frozenset[str]:
    """spaCy's English stop words (``spacy/lang/en/stop_words.py``), without importing spaCy.

    Importing ``spacy.lang.en.stop_words`` imports the whole of spaCy first (over a second);
    the word list is a plain module with no imports, so it is read from the installed package
    and run on its own.  When spaCy is loaded already, its module is used as it is.
    """
    loaded = sys.modules.get("spacy.lang.en.stop_words")
    if loaded is not None:
        return frozenset(loaded.STOP_WORDS)
    try:
        spec = importlib.util.find_spec("spacy")  # a top-level package: found, not imported
        if spec is None or spec.origin is None:
            raise ImportError("spacy")
        path = Path(spec.origin).with_name("lang") / "en" / "stop_words.py"
        namespace: dict[str, Any] = {"__name__": "spacy.lang.en.stop_words"}
        exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), namespace)  # noqa: S102
        words = frozenset(str(w) for w in namespace["STOP_WORDS"])
    except (ImportError, OSError, KeyError, SyntaxError, UnicodeDecodeError) as exc:
        raise ConfigError("the English stop-word list (package spacy) is missing or damaged") from exc
    if not words:
        raise ConfigError("the English stop-word list (package spacy) is empty")
    return words


@lru_cache(maxsize=1)
def given_names_raw() -> frozenset[str]:
    """Every given name of the ``gender-guesser`` dictionary, lower case, English words included.

    The dictionary (Jörg Michael's ``nam_dict.txt``, GNU FDL) is read unmodified from the
    installed package, the way ``gender_guesser.detector.Detector(case_sensitive=False)`` reads
    its names (a ``+`` joins name parts: with nothing, a space or a hyphen), without building
    its per-country gender tables: only the names are read, never the genders, since hushdb
    infers nothing about a person.
    """
    try:
        spec = importlib.util.find_spec("gender_guesser")
        if spec is None or spec.origin is None:
            raise ImportError("gender_guesser")
        path = Path(spec.origin).with_name("data") / "nam_dict.txt"
        out: set[str] = set()
        with path.open(encoding="utf-8") as lines:
            for raw in lines:
                line = raw.strip()
                if not line or line[0] in "#=":
                    continue
                name = line.split(None, 2)[1].lower()
                if "+" in name:
                    out.update(name.replace("+", joint) for joint in ("", " ", "-"))
                else:
                    out.add(name)
    except (ImportError, OSError, IndexError, UnicodeDecodeError) as exc:
        raise ConfigError("the given-name dictionary (package gender-guesser) is missing or damaged") from exc
    if not out:
        raise ConfigError("the given-name dictionary (package gender-guesser) is empty")
    return frozenset(out)


@lru_cache(maxsize=1)
def first_names() -> frozenset[str]:
    """Given names of many countries (folded), from :func:`given_names_raw`.

    Names that are also English function words are dropped.
    """
    stop = english_stop_words()
    folded = {fold(n) for n in given_names_raw()}
    return frozenset(n for n in folded if len(n) >= 2 and n not in stop)


@lru_cache(maxsize=1)
def surnames() -> frozenset[str]:
    """Family names (folded) from two maintained public sources, read as shipped in their wheels.

    * the U.S. Census Bureau's surname list (88,799 names from the 1990 census) shipped by the
      ``names`` package (``dist.all.last``);
    * the family-name lists of every locale of the ``faker`` package's person provider (about
      28,000 names from some 80 locales, Chinese ones included).

    Only names are read.  A real surname such as Sick, Dies, Graves or Payne is a name here, so
    a name field that holds it is not read as a remark.
    """
    found: set[str] = set()
    try:
        import names as census  # type: ignore[import-untyped]

        path = Path(census.__file__).with_name("dist.all.last")
        found.update(_FIRST_COLUMN.findall(path.read_text(encoding="ascii").lower()))
    except (ImportError, OSError, UnicodeDecodeError) as exc:
        raise ConfigError("the census surname list (package names) is missing or damaged") from exc
    found |= {fold(n) for n in faker_names("last_names")}
    return frozenset(n for n in found if n)


@lru_cache(maxsize=1)
def chinese_surnames() -> frozenset[str]:
    """Chinese family names (one or two characters, Simplified) from the ``faker`` Chinese locales."""
    from core.pii.zh_convert import to_simplified

    out: set[str] = set()
    for name in faker_names("last_names", prefix="zh"):
        if name and all("\u3400" <= c <= "\u9fff" for c in name) and len(name) <= 2:
            out.add(name)
            out.add(to_simplified(name))
    if not out:
        raise ConfigError("no Chinese surnames found in package faker")
    return frozenset(out)


def faker_names(attribute: str, *, prefix: str = "") -> list[str]:
    try:
        import faker.providers.person as person
    except ImportError as exc:
        raise ConfigError("the name lists (package faker) are missing") from exc
    out: list[str] = []
    for module in pkgutil.iter_modules(person.__path__):
        if not module.name.startswith(prefix):
            continue
        try:
            provider = importlib.import_module(f"faker.providers.person.{module.name}").Provider
        except (ImportError, AttributeError):
            continue
        values = getattr(provider, attribute, ())
        if isinstance(values, (tuple, list, dict, frozenset, set)):  # a dict: name -> weight
            out.extend(str(v) for v in values)
    return out


@lru_cache(maxsize=1)
def faker_given_names() -> frozenset[str]:
    """Given names (folded) of every locale of the ``faker`` package's person provider: names of
    countries the gender-guesser dictionary has few of (Münəvvər, Siti)."""
    return frozenset(
        fold(n)
        for attribute in ("first_names", "first_names_male", "first_names_female")
        for n in faker_names(attribute)
        if n
    )


def is_known_name(token: str) -> bool:
    """Whether ``token`` (one word) is a known given name or family name."""
    key = fold(token)
    return key in first_names() or key in surnames()
