"""The export directory, written atomically: a crashed job never leaves one that looks complete.

Everything goes into a hidden sibling ``.<out>.partial-<random>`` first; the
manifest is written last, then the directory is renamed to ``<out>`` in one
step.  A job killed half-way leaves only the partial directory, without a
manifest, under a name that no reader mistakes for an export.

Layout of a finished export::

    recipients.csv | recipients.jsonl   one row per exported recipient (pseudonym, fields, letter)
    letters/<pseudonym>.txt             one rendered letter per recipient (with a template)
    letters.sha256                      "<sha256>  letters/<pseudonym>.txt" per letter (sha256sum -c)
    quarantine.jsonl                    {"pseudonym", "reasons": [{"category", "field"}]} per withheld one
    manifest.json                       counts, the SHA-256 of every file above, the audit range

Per-letter hashes go to ``letters.sha256`` as they are written (memory stays
flat for any number of letters); the manifest carries that file's hash, so
every letter is covered by the manifest transitively.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import secrets
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any, Final

from core.errors import ConflictError, InputError, StoreError

FORMATS: Final[tuple[str, ...]] = ("csv", "jsonl")
MANIFEST: Final = "manifest.json"
QUARANTINE: Final = "quarantine.jsonl"
LETTERS_DIR: Final = "letters"
LETTER_HASHES: Final = "letters.sha256"
_SAFE_NAME: Final = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class ExportWriter:
    """Streams rows, letters and quarantine lines into a partial directory; :meth:`commit` publishes it."""

    def __init__(self, out_dir: Path, *, columns: Sequence[str], fmt: str, letters: bool) -> None:
        if fmt not in FORMATS:
            raise InputError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
        self.out_dir = out_dir
        if out_dir.exists():
            raise ConflictError(f"output directory {out_dir} exists already (choose a new --out)")
        parent = out_dir.parent
        if not parent.is_dir():
            raise InputError(f"the parent of {out_dir} is not a directory")
        self.partial = parent / f".{out_dir.name}.partial-{secrets.token_hex(4)}"
        self._root = str(self.partial)
        self._columns = tuple(columns)
        self._fmt = fmt
        self.recipients_name = f"recipients.{fmt}"
        self._with_letters = letters
        try:
            self.partial.mkdir(mode=0o700)
            self._recipients: IO[str] = (self.partial / self.recipients_name).open(
                "w", encoding="utf-8", newline=""
            )
            self._quarantine: IO[str] = (self.partial / QUARANTINE).open("w", encoding="utf-8")
            self._hashes: IO[str] | None = None
            if letters:
                (self.partial / LETTERS_DIR).mkdir(mode=0o700)
                self._hashes = (self.partial / LETTER_HASHES).open("w", encoding="utf-8")
        except OSError as exc:
            self.abort()
            raise StoreError(f"cannot write the export to {parent}: {exc.strerror}") from exc
        self._csv = csv.writer(self._recipients) if fmt == "csv" else None
        if self._csv is not None:
            self._csv.writerow(self._columns)
        self.letters_written = 0

    def letter_name(self, pseudonym: str) -> str:
        if not _SAFE_NAME.match(pseudonym):
            raise InputError("a pseudonym is not usable as a file name")
        return f"{LETTERS_DIR}/{pseudonym}.txt"

    def write(self, row: Mapping[str, str], letter: str | None) -> None:
        """One exported recipient (and its letter)."""
        if letter is not None:
            name = self.letter_name(row["pseudonym"])
            data = letter.encode("utf-8")
            # os.path, not pathlib: pathlib interns every path part, which grows with the letters.
            with open(os.path.join(self._root, name), "wb") as fh:
                fh.write(data)
            assert self._hashes is not None
            self._hashes.write(f"{hashlib.sha256(data).hexdigest()}  {name}\n")
            self.letters_written += 1
        if self._csv is not None:
            self._csv.writerow([row.get(c, "") for c in self._columns])
        else:
            doc = {c: row.get(c, "") for c in self._columns}
            self._recipients.write(json.dumps(doc, ensure_ascii=False) + "\n")

    def quarantine(self, pseudonym: str, reasons: Sequence[Mapping[str, str]]) -> None:
        doc = {"pseudonym": pseudonym, "reasons": [dict(r) for r in reasons]}
        self._quarantine.write(json.dumps(doc, ensure_ascii=False, sort_keys=True) + "\n")

    def close_files(self) -> dict[str, str]:
        """Flush and close the data files; ``{relative name: sha256}`` of each."""
        files = [self._recipients, self._quarantine] + ([self._hashes] if self._hashes else [])
        for fh in files:
            fh.flush()
            os.fsync(fh.fileno())
            fh.close()
        names = [self.recipients_name, QUARANTINE] + ([LETTER_HASHES] if self._with_letters else [])
        return {name: sha256_file(self.partial / name) for name in names}

    def commit(self, manifest: Mapping[str, Any]) -> Path:
        """Write the manifest last, then rename the partial directory to the output directory."""
        try:
            path = self.partial / MANIFEST
            with path.open("w", encoding="utf-8") as fh:
                json.dump(manifest, fh, ensure_ascii=False, indent=2, sort_keys=True)
                fh.write("\n")
                fh.flush()
                os.fsync(fh.fileno())
            if self.out_dir.exists():
                raise ConflictError(f"output directory {self.out_dir} appeared during the run")
            os.rename(self.partial, self.out_dir)
            dir_fd = os.open(self.out_dir.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except OSError as exc:
            raise StoreError(f"cannot finish the export in {self.out_dir}: {exc.strerror}") from exc
        return self.out_dir

    def abort(self) -> None:
        """Remove the partial directory (after an error in this process)."""
        for name in ("_recipients", "_quarantine", "_hashes"):
            fh = getattr(self, name, None)
            if fh is not None and not fh.closed:
                fh.close()
        shutil.rmtree(self.partial, ignore_errors=True)
