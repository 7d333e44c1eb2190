"""``hushdb apikeys`` and ``hushdb dsar`` through the real command line."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app

runner = CliRunner()


@pytest.fixture
def home(tmp_path: Path, database_url: str) -> tuple[Path, dict[str, str]]:
    d = tmp_path / "home"
    env = {"HUSHDB_DATABASE_URL": database_url}
    result = runner.invoke(app, ["init", "--data-dir", str(d)], env=env)
    assert result.exit_code == 0, result.stderr
    return d, env


def hushdb(home: tuple[Path, dict[str, str]], *args: str) -> tuple[int, str, str]:
    d, env = home
    result = runner.invoke(app, [*args, "--data-dir", str(d)], env=env)
    return result.exit_code, result.stdout, result.stderr


def test_apikeys_create_list_revoke(home: tuple[Path, dict[str, str]]) -> None:
    code, out, err = hushdb(home, "apikeys", "create", "--subject", "alice")
    assert code == 0, err
    token = out.strip()
    assert token.startswith("hush_") and "shown only once" in err
    key_id = token.split("_")[1]
    code, out, _ = hushdb(home, "apikeys", "list", "--json")
    [listed] = json.loads(out)
    assert listed["key_id"] == key_id and listed["subject"] == "alice" and listed["revoked_at"] is None
    assert token.split("_", 2)[2] not in out  # the key is never shown again
    assert hushdb(home, "apikeys", "revoke", key_id)[0] == 0
    code, out, _ = hushdb(home, "apikeys", "list", "--json")
    assert json.loads(out)[0]["revoked_at"] is not None


def test_apikeys_refuse_unknown_subjects_and_ids(home: tuple[Path, dict[str, str]]) -> None:
    code, _, err = hushdb(home, "apikeys", "create", "--subject", "mallory")
    assert code == 6 and "unknown subject" in err
    code, _, err = hushdb(home, "apikeys", "revoke", "0123456789ab")
    assert code == 4 and "not found" in err


def test_dsar_writes_a_private_json_file(home: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    csv = tmp_path / "c.csv"
    csv.write_text("external_id,full_name,email\nD-1,Dora Data,dora@example.com\n")
    assert hushdb(home, "customers", "import", str(csv), "--as", "alice")[0] == 0
    out_file = tmp_path / "dsar.json"
    code, out, err = hushdb(home, "dsar", "D-1", "--as", "dana", "--out", str(out_file))
    assert code == 0, err
    assert "dora@example.com" not in out
    doc = json.loads(out_file.read_text())
    assert doc["customer"]["email"] == "dora@example.com" and doc["generated_by"] == "dana"
    assert stat.S_IMODE(out_file.stat().st_mode) == 0o600
    code, _, err = hushdb(home, "dsar", "D-1", "--as", "alice", "--out", str(tmp_path / "no.json"))
    assert code == 7 and not (tmp_path / "no.json").exists()
