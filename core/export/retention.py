"""Export output that outlives its purpose: remove an erased customer from every export still held.

An erasure destroys the customer's data key, but a finished mail-merge export is
plaintext on disk: ``recipients.csv|jsonl`` rows, ``letters/<pseudonym>.txt``
and ``quarantine.jsonl`` lines, all keyed by the customer's **pseudonym** (the
only identifier exports carry).  :func:`erase_from_exports` removes those from
every finished export under the exports directory (the HTTP jobs' output,
``<exports_dir>/<job_id>/``), rewriting each file atomically (a temporary file
in the same directory, ``fsync``, ``os.replace``), and updates the export's
``manifest.json`` (file hashes, counts, ``erased`` count) so the manifest
still describes the files.  Work is linear in the size of the exports held;
memory is flat (files are streamed line by line).

Exports written elsewhere with ``hushdb export mailmerge --out DIR`` are the
operator's files and are not reached; the erasure receipt should say so.
Exports older than the retention are deleted outright by the job runner
(:mod:`api.http.jobs`).
"""

from __future__ import annotations

import csv
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final

from core.errors import InputError, StoreError
from core.export.output import LETTER_HASHES, LETTERS_DIR, MANIFEST, QUARANTINE, sha256_file

_PSEUDONYM: Final = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")
_RECIPIENTS: Final = ("recipients.csv", "recipients.jsonl")


@dataclass(frozen=True, slots=True)
class ErasedFromExports:
    """What :func:`erase_from_exports` changed."""

    exports: int  # exports that held the customer (as a recipient, a letter or a quarantined one)
    rows: int  # recipient rows removed
    letters: int  # letter files removed


def held_exports(exports_dir: Path) -> Iterator[Path]:
    """Finished exports under ``exports_dir`` (directories with a manifest; partial and hidden ones skipped)."""
    if not exports_dir.is_dir():
        return
    for child in sorted(exports_dir.iterdir()):
        if child.name.startswith(".") or child.is_symlink() or not child.is_dir():
            continue
        if (child / MANIFEST).is_file():
            yield child


def erase_from_exports(exports_dir: Path, pseudonym: str) -> ErasedFromExports:
    """Remove every trace of ``pseudonym`` from every finished export under ``exports_dir``."""
    if not _PSEUDONYM.match(pseudonym):
        raise InputError("not a pseudonym")
    exports = rows = letters = 0
    for export in held_exports(exports_dir):
        removed_rows, removed_letters, touched = _erase_from_one(export, pseudonym)
        if touched:
            exports += 1
            rows += removed_rows
            letters += removed_letters
    return ErasedFromExports(exports=exports, rows=rows, letters=letters)


def _erase_from_one(export: Path, pseudonym: str) -> tuple[int, int, bool]:
    changed: dict[str, str] = {}
    rows = 0
    for name in _RECIPIENTS:
        path = export / name
        if path.is_file():
            keep = _csv_filter(pseudonym) if name.endswith(".csv") else _jsonl_filter(pseudonym)
            removed = _rewrite(path, keep)
            if removed:
                rows += removed
                changed[name] = sha256_file(path)
    quarantine = export / QUARANTINE
    if quarantine.is_file() and _rewrite(quarantine, _jsonl_filter(pseudonym)):
        changed[QUARANTINE] = sha256_file(quarantine)
    letter_name = f"{LETTERS_DIR}/{pseudonym}.txt"
    letters = 0
    letter = export / LETTERS_DIR / f"{pseudonym}.txt"
    if letter.is_file():
        letter.unlink()
        letters = 1
    hashes = export / LETTER_HASHES
    if hashes.is_file() and _rewrite(
        hashes, _lines_filter(lambda line: line.rstrip("\n").endswith(f"  {letter_name}"))
    ):
        changed[LETTER_HASHES] = sha256_file(hashes)
    if changed or letters:
        _update_manifest(export / MANIFEST, changed, rows, letters)
    return rows, letters, bool(changed or letters)


# -- filters: copy src to dst without the customer's lines; return how many were dropped ------------------

LineFilter = Callable[[IO[str], IO[str]], int]


def _lines_filter(drop: Callable[[str], bool]) -> LineFilter:
    def run(src: IO[str], dst: IO[str]) -> int:
        removed = 0
        for line in src:
            if drop(line):
                removed += 1
            else:
                dst.write(line)
        return removed

    return run


def _jsonl_filter(pseudonym: str) -> LineFilter:
    needle = json.dumps(pseudonym)

    def drop(line: str) -> bool:
        if needle not in line:  # cheap test first; the JSON decides
            return False
        try:
            doc = json.loads(line)
        except ValueError:
            return False
        return isinstance(doc, dict) and doc.get("pseudonym") == pseudonym

    return _lines_filter(drop)


def _csv_filter(pseudonym: str) -> LineFilter:
    def run(src: IO[str], dst: IO[str]) -> int:
        reader = csv.reader(src)
        writer = csv.writer(dst)
        header = next(reader, None)
        if header is None:
            return 0
        writer.writerow(header)
        column = header.index("pseudonym") if "pseudonym" in header else 0
        removed = 0
        for row in reader:
            if len(row) > column and row[column] == pseudonym:
                removed += 1
            else:
                writer.writerow(row)
        return removed

    return run


def _rewrite(path: Path, keep: LineFilter) -> int:
    """Filter ``path`` into a temporary sibling and replace it atomically; returns the lines removed."""
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        os.fchmod(fd, 0o600)
        with (
            os.fdopen(fd, "w", encoding="utf-8", newline="") as dst,
            path.open(encoding="utf-8", newline="") as src,
        ):
            removed = keep(src, dst)
            dst.flush()
            os.fsync(dst.fileno())
        if removed:
            os.replace(tmp, path)
        else:
            tmp.unlink()
        return removed
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise StoreError(f"cannot rewrite export file {path.name}: {exc.strerror}") from exc


def _update_manifest(path: Path, changed: dict[str, str], rows: int, letters: int) -> None:
    try:
        doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return  # a manifest we cannot read is left as it is; the data files are clean either way
    files = doc.get("files")
    if isinstance(files, dict):
        files.update(changed)
    counts = doc.get("counts")
    if isinstance(counts, dict) and isinstance(counts.get("exported"), int):
        counts["exported"] = max(0, counts["exported"] - rows)
    if isinstance(doc.get("letters"), int):
        doc["letters"] = max(0, doc["letters"] - letters)
    doc["erased"] = int(doc.get("erased", 0)) + 1
    data = json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    fd, tmp_name = tempfile.mkstemp(prefix=".manifest.", suffix=".tmp", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        os.fchmod(fh.fileno(), 0o600)
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp_name, path)
