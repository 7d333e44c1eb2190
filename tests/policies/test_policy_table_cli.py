"""The permission table and ``hushdb policy check`` / ``show``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from api.cli.policy import policy_app
from core.errors import InputError
from policies.authorizer import Authorizer
from policies.table import build_table

runner = CliRunner()


def _squash(text: str) -> list[str]:
    return [" ".join(line.split()) for line in text.splitlines()]


def test_table_shows_effective_decisions(authorizer: Authorizer) -> None:
    lines = _squash(build_table(authorizer).render())
    assert f"policy hash: {authorizer.policy_hash}" in lines
    assert "role sales: held by alice, bob" in lines
    assert "mailmerge marketing note read - denied: body" in lines
    assert "compliance compliance note read all full: findings, author, created_at; none: body" in lines
    assert (
        "analyst data_quality customer read all "
        "full: consent, created_at, pseudonym; hashed: full_name, email, phone" in lines
    )
    assert "admin service admin manage all keys, policy, apikeys" in lines
    assert not any(line.startswith("admin") and "customer read all" in line for line in lines)


def test_table_for_one_role(authorizer: Authorizer) -> None:
    table = build_table(authorizer).for_role("dpo")
    assert {entry.role for entry in table.entries} == {"dpo"}
    with pytest.raises(InputError):
        build_table(authorizer, roles=["nobody"])


def test_check_ok(shipped_dir: Path) -> None:
    result = runner.invoke(policy_app, ["check", "--policy-dir", str(shipped_dir)])
    assert result.exit_code == 0, result.output
    assert "policy OK" in result.stdout
    assert "mailmerge" in result.stdout
    assert "denied: body" in result.stdout


def test_check_reads_the_policy_dir_from_settings(policy_copy: Path, tmp_path: Path, edit: Any) -> None:
    edit.append_line(policy_copy / "roles.csv", "g, erin, analyst")
    result = runner.invoke(
        policy_app, ["check", "--data-dir", str(tmp_path)], env={"HUSHDB_POLICY_DIR": str(policy_copy)}
    )
    assert result.exit_code == 0, result.output
    assert "role analyst: held by ana, erin" in _squash(result.stdout)


def test_check_reports_a_typo_on_one_line(policy_copy: Path, edit: Any) -> None:
    path = policy_copy / "policy.csv"
    number = edit.append_line(path, "p, sales, service, customer, email, read, allow, full, onw")
    result = runner.invoke(policy_app, ["check", "--policy-dir", str(policy_copy)])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [f"error: {path}:{number}: unknown scope 'onw' (all or own)"]
    assert result.stdout == ""


def test_show_role(shipped_dir: Path) -> None:
    result = runner.invoke(policy_app, ["show", "--role", "mailmerge", "--policy-dir", str(shipped_dir)])
    assert result.exit_code == 0, result.output
    body = [line for line in _squash(result.stdout) if line.startswith(("sales", "mailmerge", "dpo"))]
    assert body
    assert all(line.startswith("mailmerge") for line in body)


def test_show_unknown_role(shipped_dir: Path) -> None:
    result = runner.invoke(policy_app, ["show", "--role", "root", "--policy-dir", str(shipped_dir)])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: unknown role 'root'")
