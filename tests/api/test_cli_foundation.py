"""The foundation story through the real `hushdb` command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app

runner = CliRunner()


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def home(tmp_path: Path, database_url: str) -> tuple[Path, dict[str, str]]:
    d = tmp_path / "home"
    env = {"HUSHDB_DATABASE_URL": database_url}
    code, _, err = run("init", "--data-dir", str(d), env=env)
    assert code == 0, err
    return d, env


def write(path: Path, text: str | bytes) -> Path:
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


CUSTOMERS = (
    "external_id,full_name,email,phone,postal_address,birth_date,owner,consent_marketing_email,"
    "consent_marketing_post,consent_profiling\n"
    "A1,Ada Lovelace,ada@example.com,+44 7700 900001,1 Analytical Row London,1815-12-10,,yes,no,1\n"
    "A2,Charles Babbage,,,,,,,,\n"
    "A3,,nobody@example.com,,,,,,,\n"  # line 4: full_name missing
    "A4,Bad Date,bd@example.com,,,1999-13-45,,,,\n"  # line 5: bad date
    "A5,Bad Bool,bb@example.com,,,,,maybe,,\n"  # line 6: bad boolean
)


def test_import_reports_bad_rows_and_keeps_good(home: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    d, env = home
    f = write(tmp_path / "c.csv", CUSTOMERS.encode() + b"A6,Bad \xff\xfe UTF8,x@example.com,,,,,,,\n")
    code, out, err = run("customers", "import", str(f), "--as", "alice", "--data-dir", str(d), env=env)
    assert code == 3
    assert "imported 2 customers, rejected 4" in out
    for line in (
        "line 4: full_name is required",
        "line 5: birth_date",
        "line 6: consent_marketing_email",
        "line 7",
    ):
        assert line in err
    assert "Bad Date" not in err and "nobody@example.com" not in err  # never the content
    code, out, err = run(
        "customers",
        "show",
        "A1",
        "--as",
        "alice",
        "--purpose",
        "service",
        "--json",
        "--data-dir",
        str(d),
        env=env,
    )
    assert code == 0, err
    doc = json.loads(out)
    assert doc["full_name"] == "Ada Lovelace" and doc["owner"] == "alice"
    code, out, _ = run(
        "customers",
        "find",
        "--email",
        "ADA@example.com",
        "--as",
        "alice",
        "--purpose",
        "service",
        "--json",
        "--data-dir",
        str(d),
        env=env,
    )
    assert [c["external_id"] for c in json.loads(out)] == ["A1"]


def test_missing_column_is_a_clear_error(home: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    d, env = home
    f = write(tmp_path / "c.csv", "external_id,email\nA1,a@example.com\n")
    code, _, err = run("customers", "import", str(f), "--as", "alice", "--data-dir", str(d), env=env)
    assert code == 2 and "missing column(s) full_name" in err


def test_unknown_subject_refused(home: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    d, env = home
    f = write(tmp_path / "c.csv", CUSTOMERS)
    code, _, err = run("customers", "import", str(f), "--as", "mallory", "--data-dir", str(d), env=env)
    assert code == 6 and "unknown subject" in err


def test_transactions_import_rejects_unknown_customers(
    home: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    d, env = home
    run(
        "customers",
        "import",
        str(write(tmp_path / "c.csv", CUSTOMERS)),
        "--as",
        "alice",
        "--data-dir",
        str(d),
        env=env,
    )
    tx = write(
        tmp_path / "t.csv",
        "external_id,occurred_at,amount,currency,product,category\n"
        "A1,2025-01-02,19.99,GBP,tea set,home\n"
        "A1,2025-01-03T10:00:00+01:00,5,gbp,mug,home\n"
        "ZZ,2025-01-02,1.00,GBP,x,y\n"  # line 4: unknown customer
        "A2,yesterday,1.00,GBP,x,y\n"  # line 5: bad date
        "A2,2025-01-02,lots,GBP,x,y\n",  # line 6: bad amount
    )
    code, out, err = run("transactions", "import", str(tx), "--data-dir", str(d), env=env)
    assert code == 3
    assert "imported 2 transactions, rejected 3" in out
    assert "line 4: unknown customer" in err and "line 5" in err and "line 6" in err


def test_rotate_and_erase(home: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    d, env = home
    run(
        "customers",
        "import",
        str(write(tmp_path / "c.csv", CUSTOMERS)),
        "--as",
        "alice",
        "--data-dir",
        str(d),
        env=env,
    )
    code, out, err = run("keys", "rotate", "--data-dir", str(d), env=env)
    assert code == 0, err
    assert "rotated to key version 2" in out
    code, out, err = run("erase", "A1", "--as", "dana", "--json", "--data-dir", str(d), env=env)
    assert code == 0, err
    receipt = json.loads(out)
    assert receipt["backups_protected"] is True and receipt["audit_seq"] > 0
    code, _, err = run("erase", "A2", "--as", "alice", "--data-dir", str(d), env=env)
    assert code == 7  # sales may not erase
    code, out, err = run("audit", "verify", "--data-dir", str(d), env=env)
    assert code == 0, err


def test_world_readable_key_file_refused(home: tuple[Path, dict[str, str]]) -> None:
    d, env = home
    os.chmod(d / "master.key", 0o644)
    code, _, err = run(
        "customers", "show", "A1", "--as", "alice", "--purpose", "service", "--data-dir", str(d), env=env
    )
    assert code == 2 and "0600" in err


def test_missing_key_file(home: tuple[Path, dict[str, str]]) -> None:
    d, env = home
    (d / "master.key").unlink()
    code, _, err = run("audit", "verify", "--data-dir", str(d), env=env)
    assert code == 2 and "master.key" in err and "does not exist" in err


def test_hushdb_home_is_honoured(tmp_path: Path, database_url: str) -> None:
    d = tmp_path / "viaenv"
    env = {"HUSHDB_HOME": str(d), "HUSHDB_DATABASE_URL": database_url}
    code, _, err = run("init", env=env)
    assert code == 0, err
    assert (d / "master.key").exists()


def test_demo_data_is_deterministic(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    for out_dir in (a, b):
        code, _, err = run("demo-data", "--customers", "50", "--seed", "3", "--out", str(out_dir))
        assert code == 0, err
    for name in ("customers.csv", "transactions.csv", "notes.csv"):
        assert (a / name).read_bytes() == (b / name).read_bytes()
    assert any("\u4e00" <= ch <= "\u9fff" for ch in (a / "customers.csv").read_text())


def test_console_script_entry_point(tmp_path: Path) -> None:
    exe = Path(sys.executable).parent / "hushdb"
    result = subprocess.run([str(exe), "--help"], capture_output=True, text=True, check=False)
    assert result.returncode == 0 and "customers" in result.stdout
