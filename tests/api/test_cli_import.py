"""`hushdb customers import` over several batches, prepared by a worker process: the same contract."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import core.prepare_pool as prepare_pool
import core.writes as writes
from api.cli import app

runner = CliRunner()

HEADER = (
    "external_id,full_name,email,phone,postal_address,birth_date,owner,consent_marketing_email,"
    "consent_marketing_post,consent_profiling\n"
)


def run(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def test_import_over_many_batches_reports_lines_and_keeps_good_rows(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writes, "IMPORT_BATCH", 10)
    monkeypatch.setattr(prepare_pool, "CHUNK", 4)
    monkeypatch.setattr(prepare_pool, "default_workers", lambda: 1)
    started: list[bool] = []
    real_start = prepare_pool.PreparePool._start

    def spy(self: prepare_pool.PreparePool) -> bool:
        started.append(ok := real_start(self))
        return ok

    monkeypatch.setattr(prepare_pool.PreparePool, "_start", spy)
    env = {"HUSHDB_DATABASE_URL": database_url}
    d = tmp_path / "home"
    assert run("init", "--data-dir", str(d), env=env)[0] == 0
    lines = [HEADER]
    bad = {7: "bad-email", 23: "future", 38: "dup", 41: "other-owner", 55: "utf8"}
    for i in range(2, 62):  # file lines 2..61
        n = i - 2
        email, birth, ext, owner = f"p{n}@example.com", "1990-01-01", f"L{n:03d}", ""
        if bad.get(i) == "bad-email":
            email = "not-an-email"
        elif bad.get(i) == "future":
            birth = "2999-01-01"
        elif bad.get(i) == "dup":
            ext = "L010"  # line 12's id, in an earlier batch
        elif bad.get(i) == "other-owner":
            owner = "bob"
        lines.append(f"{ext},Person {n},{email},+44 7700 9{n:05d},{n} Road,{birth},{owner},yes,no,\n")
    raw = "".join(lines).encode()
    raw = raw.replace(b"Person 53,", b"Person \xff53,")  # line 55: not UTF-8
    f = tmp_path / "big.csv"
    f.write_bytes(raw)
    code, out, err = run("customers", "import", str(f), "--as", "alice", "--data-dir", str(d), env=env)
    assert code == 3, err
    assert any(started), "the worker process was used"
    assert "imported 56 customers, rejected 4, kept 1 with warnings" in out
    reported = [line for line in err.splitlines() if line.startswith("line ")]
    assert reported == [
        "line 7: warning: email: email is not a valid address; kept as given, not indexed",
        "line 23: birth_date is in the future",
        "line 38: duplicate external_id (already stored)",
        "line 41: owner must be the importing subject for this role",
        "line 55: row is not valid UTF-8",
    ]
    assert "not-an-email" not in err and "Person" not in err  # never the content
    code, out, err = run(
        "customers",
        "show",
        "L059",
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
    assert (doc["full_name"], doc["email"], doc["phone"]) == ("Person 59", "p59@example.com", "+447700900059")
