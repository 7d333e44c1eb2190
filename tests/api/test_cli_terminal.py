"""The terminal path as a newcomer meets it: one-line errors, human output, consistent flags, fast start."""

from __future__ import annotations

import csv
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from api.cli.output import human, plural
from core.errors import ListenError

runner = CliRunner()
HUSHDB = str(Path(sys.executable).parent / "hushdb")


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def test_init_on_a_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    a_file = tmp_path / "afile"
    a_file.write_text("not a directory")
    code, out, err = run("init", "--data-dir", str(a_file))
    assert code == 2, (out, err)
    assert err.count("\n") == 1 and "is not a directory" in err and "Traceback" not in err
    assert a_file.read_text() == "not a directory"


def test_serve_on_a_busy_port_is_one_line_and_its_own_exit_code(tmp_path: Path) -> None:
    d = tmp_path / "home"
    assert run("init", "--data-dir", str(d))[0] == 0
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("HUSHDB_")}
        result = subprocess.run(
            [HUSHDB, "serve", "--port", str(port), "--data-dir", str(d)],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
            check=False,
        )
    assert result.returncode == ListenError.exit_code == 8, result.stderr
    assert result.returncode != 3  # 3 means "rows rejected"
    assert result.stderr.count("\n") == 1 and "in use" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_human_values_and_plurals() -> None:
    assert human(None) == "-"
    assert human({"marketing_email": False, "profiling": True}) == "marketing email no, profiling yes"
    assert human(["a", "b"]) == "a, b"
    assert human(3) == "3"
    assert plural(1, "note") == "1 note" and plural(2, "note") == "2 notes" and plural(0, "note") == "0 notes"


@pytest.fixture
def store(tmp_path: Path, database_url: str) -> tuple[list[str], dict[str, str], Path]:
    env = {"HUSHDB_DATABASE_URL": database_url}
    dd = ["--data-dir", str(tmp_path / "home")]
    assert run("init", *dd, env=env)[0] == 0
    code, _out, err = run("demo-data", "--customers", "12", "--seed", "7", "--out", str(tmp_path / "csv"))
    assert code == 0, err
    return dd, env, tmp_path / "csv"


def test_demo_data_per_owner_files_import_as_written(store: tuple[list[str], dict[str, str], Path]) -> None:
    dd, env, csv_dir = store
    for owner in ("alice", "bob"):
        code, out, err = run(
            "customers", "import", str(csv_dir / f"customers-{owner}.csv"), "--as", owner, *dd, env=env
        )
        assert code == 0 and "rejected 0" in out, (out, err)
    with (csv_dir / "customers-alice.csv").open(encoding="utf-8", newline="") as fh:
        assert {row["owner"] for row in csv.DictReader(fh)} == {"alice"}


def test_show_prints_no_python_reprs(store: tuple[list[str], dict[str, str], Path]) -> None:
    dd, env, csv_dir = store
    path = csv_dir / "customers-alice.csv"
    assert run("customers", "import", str(path), "--as", "alice", *dd, env=env)[0] == 0
    first = path.read_text(encoding="utf-8").splitlines()[1].split(",")[0]
    code, out, err = run("customers", "show", first, "--as", "alice", "--purpose", "service", *dd, env=env)
    assert code == 0, err
    assert "{" not in out and "None" not in out and "False" not in out and "True" not in out, out
    assert "consent: marketing email " in out, out


def test_notes_add_is_human_by_default_and_json_on_request(
    store: tuple[list[str], dict[str, str], Path],
) -> None:
    dd, env, csv_dir = store
    path = csv_dir / "customers-alice.csv"
    assert run("customers", "import", str(path), "--as", "alice", *dd, env=env)[0] == 0
    first = path.read_text(encoding="utf-8").splitlines()[1].split(",")[0]
    text = "Prefers calls after 5pm."
    code, out, err = run("notes", "add", first, "--as", "alice", "--text", text, *dd, env=env)
    assert code == 0, err
    assert out.startswith("added note ") and f"to {first}: sensitivity " in out, out
    code, out, err = run("notes", "add", first, "--as", "alice", "--text", text, "--json", *dd, env=env)
    assert code == 0, err
    assert set(json.loads(out)) == {"note_id", "sensitivity", "labels", "findings"}
    code, out, err = run("notes", "show", first, "--as", "alice", "--purpose", "service", *dd, env=env)
    assert code == 0 and out.rstrip().endswith("2 notes"), out


def test_imports_take_json(store: tuple[list[str], dict[str, str], Path]) -> None:
    dd, env, csv_dir = store
    code, out, err = run(
        "customers", "import", str(csv_dir / "customers-alice.csv"), "--as", "alice", "--json", *dd, env=env
    )
    assert code == 0, err
    assert json.loads(out)["imported"] > 0
    code, out, err = run("transactions", "import", str(csv_dir / "transactions.csv"), "--json", *dd, env=env)
    assert code in (0, 3), err  # bob's customers were not imported: their transactions are rejected
    assert "imported" in json.loads(out)


def test_help_does_not_load_the_store() -> None:
    """`hushdb --help` imports no database, policy or NLP library (the start-up budget, see bench)."""
    code = (
        "import sys, api.cli; heavy = {'sqlalchemy', 'alembic', 'casbin', 'presidio_analyzer', 'spacy', "
        "'matplotlib', 'scipy', 'pandas', 'api.wiring'}; print(sorted(heavy & set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert result.stdout.strip() == "[]", result.stdout
