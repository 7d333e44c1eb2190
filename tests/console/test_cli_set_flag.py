"""`hushdb customers set-flag`: deceased / do-not-contact from the terminal, governed and audited."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app

runner = CliRunner()


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """The command is a thin layer over the governed write (tested on both databases): SQLite here."""
    return f"sqlite:///{tmp_path / 'hushdb.sqlite3'}"


def run(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def test_set_flag_sets_lifts_and_refuses_others(tmp_path: Path, database_url: str) -> None:
    home = tmp_path / "home"
    env = {"HUSHDB_DATABASE_URL": database_url}
    assert run("init", "--data-dir", str(home), env=env)[0] == 0
    csv = tmp_path / "c.csv"
    csv.write_text("external_id,full_name,owner\nS1,Sam Flag,alice\n")
    assert run("customers", "import", str(csv), "--as", "alice", "--data-dir", str(home), env=env)[0] == 0
    code, out, err = run(
        "customers", "set-flag", "S1", "deceased", "--as", "alice", "--data-dir", str(home), env=env
    )
    assert code == 0, err
    assert "S1: deceased set" in out
    code, out, _ = run(
        "customers",
        "set-flag",
        "S1",
        "deceased",
        "--clear",
        "--as",
        "alice",
        "--json",
        "--data-dir",
        str(home),
        env=env,
    )
    assert code == 0 and json.loads(out) == {"external_id": "S1", "flag": "deceased", "value": False}
    code, out, _ = run(
        "customers",
        "show",
        "S1",
        "--as",
        "alice",
        "--purpose",
        "service",
        "--json",
        "--data-dir",
        str(home),
        env=env,
    )
    assert code == 0 and '"deceased": false' in out.replace("False", "false")
    code, _, err = run(
        "customers", "set-flag", "S1", "do-not-contact", "--as", "bob", "--data-dir", str(home), env=env
    )
    assert code == 4, err  # another rep's customer: not found (the denial is audited)
    code, _, err = run(
        "customers", "set-flag", "S1", "asleep", "--as", "alice", "--data-dir", str(home), env=env
    )
    assert code == 2 and "deceased or do-not-contact" in err
    code, out, _ = run("audit", "events", "--subject", "alice", "--json", "--data-dir", str(home), env=env)
    doc = json.loads(out)
    events = doc["events"] if isinstance(doc, dict) else doc
    writes = [e for e in events if e["action"] == "write" and e["fields"] == ["suppression"]]
    assert len(writes) == 2
