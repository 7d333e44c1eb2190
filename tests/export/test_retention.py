"""Removing an erased customer from every export still held (core.export.retention)."""

from __future__ import annotations

import csv
import json
import stat
from pathlib import Path

import pytest

from core.errors import InputError
from core.export.output import ExportWriter, sha256_file
from core.export.retention import erase_from_exports


def _export(root: Path, name: str, pseudonyms: list[str], fmt: str = "csv") -> Path:
    writer = ExportWriter(root / name, columns=("pseudonym", "full_name", "letter"), fmt=fmt, letters=True)
    for p in pseudonyms:
        writer.write(
            {"pseudonym": p, "full_name": f"Name of {p}", "letter": writer.letter_name(p)}, f"Dear {p}"
        )
    writer.quarantine("p_q", [{"category": "health", "field": "letter"}])
    files = writer.close_files()
    manifest = {"files": files, "counts": {"exported": len(pseudonyms)}, "letters": len(pseudonyms)}
    return writer.commit(manifest)


def test_an_erased_customer_leaves_every_export(tmp_path: Path) -> None:
    a = _export(tmp_path, "job_a", ["p_1", "p_2", "p_3"])
    b = _export(tmp_path, "job_b", ["p_2", "p_4"], fmt="jsonl")
    c = _export(tmp_path, "job_c", ["p_5"])
    before_c = {f.name: f.read_bytes() for f in c.rglob("*") if f.is_file()}
    (tmp_path / ".job_d.partial-x").mkdir()  # an unfinished export is not touched

    result = erase_from_exports(tmp_path, "p_2")

    assert (result.exports, result.rows, result.letters) == (2, 2, 2)
    with (a / "recipients.csv").open(newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows == [["pseudonym", "full_name", "letter"], ["p_1", "Name of p_1", "letters/p_1.txt"],
                    ["p_3", "Name of p_3", "letters/p_3.txt"]]  # fmt: skip
    assert [json.loads(line)["pseudonym"] for line in (b / "recipients.jsonl").read_text().splitlines()] == [
        "p_4"
    ]
    for export in (a, b):
        assert not (export / "letters" / "p_2.txt").exists()
        assert "p_2" not in (export / "letters.sha256").read_text()
        assert "Name of p_2" not in "".join(f.read_text() for f in export.rglob("*") if f.is_file())
        manifest = json.loads((export / "manifest.json").read_text())
        for name, digest in manifest["files"].items():  # the manifest still describes the files
            assert sha256_file(export / name) == digest
        assert manifest["erased"] == 1
        assert stat.S_IMODE((export / manifest_name(export)).stat().st_mode) == 0o600
    assert json.loads((a / "manifest.json").read_text())["counts"]["exported"] == 2
    assert {f.name: f.read_bytes() for f in c.rglob("*") if f.is_file()} == before_c
    assert not list(tmp_path.rglob("*.tmp"))  # no temporary file left behind


def manifest_name(export: Path) -> str:
    return "recipients.csv" if (export / "recipients.csv").exists() else "recipients.jsonl"


def test_quarantined_customers_are_removed_too(tmp_path: Path) -> None:
    export = _export(tmp_path, "job", ["p_1"])
    result = erase_from_exports(tmp_path, "p_q")
    assert result.exports == 1 and result.rows == 0
    assert (export / "quarantine.jsonl").read_text() == ""


def test_nothing_held_changes_nothing(tmp_path: Path) -> None:
    export = _export(tmp_path, "job", ["p_1"])
    before = (export / "manifest.json").read_bytes()
    assert erase_from_exports(tmp_path, "p_9").exports == 0
    assert (export / "manifest.json").read_bytes() == before
    assert erase_from_exports(tmp_path / "missing", "p_1").exports == 0


@pytest.mark.parametrize("bad", ["../p_1", "p 1", "", "a" * 65])
def test_a_pseudonym_is_never_a_path(tmp_path: Path, bad: str) -> None:
    with pytest.raises(InputError):
        erase_from_exports(tmp_path, bad)


def test_init_on_an_existing_directory_makes_it_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from api.cli import app

    for name in ("HUSHDB_DATABASE_URL", "HUSHDB_MASTER_KEY", "HUSHDB_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o755)
    data_dir.chmod(0o755)
    runner = CliRunner()
    assert runner.invoke(app, ["init", "--data-dir", str(data_dir)]).exit_code == 0
    for db in data_dir.glob("*.sqlite3"):
        db.chmod(0o644)
    data_dir.chmod(0o755)
    result = runner.invoke(app, ["init", "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    databases = list(data_dir.glob("*.sqlite3"))
    assert databases and all(stat.S_IMODE(db.stat().st_mode) == 0o600 for db in databases)
