"""Start-up: a command loads only what it needs (no timing asserts; bench/cli_startup.py measures).

``hushdb --help`` and ``hushdb audit verify --help`` load no database, policy or NLP
library; a real ``hushdb audit verify`` on an initialised store loads the database
and the policy but no NLP, data-frame, plotting or migration library, no HTTP
stack, not the notes or writes services, not the PII screen (core.store imports it
on first write), not SQLAlchemy's ORM (core.models is plain Core tables), not the
PostgreSQL dialect on a SQLite store, and not pydantic (typer < 0.29 builds no
pydantic validators).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

NEVER_FOR_VERIFY = (
    "spacy",
    "presidio_analyzer",
    "pandas",
    "lifetimes",
    "scipy",
    "matplotlib",
    "alembic",
    "mako",
    "fastapi",
    "uvicorn",
    "jinja2",
    "pydantic",  # typer 0.29 built a pydantic validator per parameter (pinned < 0.29 in pyproject.toml)
    "sqlalchemy.orm",  # core.models defines Core tables; nothing on these paths maps classes
    "core.pii",  # the engine, and the screen core.store uses only when it writes a customer
    "core.notes",
    "core.writes",
    "core.export",
    "core.profiling",
)
NEVER_FOR_HELP = (*NEVER_FOR_VERIFY, "sqlalchemy", "casbin", "cryptography", "api.wiring", "core.db")
# help is drawn by rich; verify prints plain lines (rich would be another 30 ms or so)
# a SQLite store; phonenumbers (~30 ms) loads when a phone number is first read or masked
NEVER_FOR_VERIFY_RUN = (*NEVER_FOR_VERIFY, "rich", "sqlalchemy.dialects.postgresql", "phonenumbers")
# `hushdb audit verify` imports the audit group's module alone
OTHER_GROUPS = tuple(
    f"api.cli.{m}" for m in ("customers", "notes", "export", "profile", "backup", "http", "pii")
)

PROBE = """
import json, sys
names = json.loads(sys.argv[2])
sys.argv = ["hushdb", *json.loads(sys.argv[1])]
from api.cli import main
try:
    main()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
loaded = sorted(n for n in set(sys.modules) if any(n == x or n.startswith(x + ".") for x in names))
sys.stderr.write("\\nPROBE " + json.dumps({"code": code, "loaded": loaded}) + "\\n")
"""


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUSHDB_")}
    env["COLUMNS"] = "100"
    return env


def probe(args: list[str], watch: tuple[str, ...]) -> tuple[int, list[str]]:
    """Run ``hushdb ARGS`` in a fresh interpreter; its exit code and which of ``watch`` it imported."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(args), json.dumps(list(watch))],
        capture_output=True,
        text=True,
        timeout=180,
        env=_env(),
        check=False,
    )
    line = next((x for x in result.stderr.splitlines() if x.startswith("PROBE ")), None)
    assert line is not None, result.stderr
    doc = json.loads(line.removeprefix("PROBE "))
    return doc["code"], doc["loaded"]


@pytest.mark.parametrize("args", [["--help"], ["audit", "verify", "--help"], ["audit", "--help"]])
def test_help_loads_no_store_policy_or_nlp(args: list[str]) -> None:
    code, loaded = probe(args, NEVER_FOR_HELP)
    assert code == 0
    assert loaded == [], loaded


def test_audit_verify_loads_only_what_it_needs(tmp_path: Path) -> None:
    data_dir = tmp_path / "home"
    init = subprocess.run(
        [sys.executable, "-m", "api.cli", "init", "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=180,
        env=_env(),
        check=False,
    )
    assert init.returncode == 0, init.stderr
    code, loaded = probe(
        ["audit", "verify", "--data-dir", str(data_dir)], (*NEVER_FOR_VERIFY_RUN, *OTHER_GROUPS)
    )
    assert code == 0, "audit verify did not find the new store intact"
    assert loaded == [], f"audit verify imported {loaded}"
    # the probe itself can see what a command loads: verify does open the database and the policy
    _, needed = probe(["audit", "verify", "--data-dir", str(data_dir)], ("sqlalchemy", "casbin"))
    assert {"sqlalchemy", "casbin"} <= set(needed)


CRASH = """
import sys
control = sys.argv[1:] == ["control"]
sys.argv = ["hushdb"]
from api.cli.options import typer_app
app = typer_app("crash", no_args_is_help=False)
if control:
    app.pretty_exceptions_show_locals = True

@app.command()
def boom() -> None:
    secret_value = "4111" + "-1111-1111-1111"
    raise RuntimeError("boom")

app()
"""


@pytest.mark.parametrize("control", [False, True])
def test_a_crash_prints_no_local_variables(control: bool) -> None:
    """The pinned typer honours pretty_exceptions_show_locals=False (the control run shows locals)."""
    result = subprocess.run(
        [sys.executable, "-c", CRASH, *(["control"] if control else [])],
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(),
        check=False,
    )
    assert result.returncode == 1
    assert "RuntimeError" in result.stderr + result.stdout
    assert ("4111-1111-1111-1111" in result.stderr + result.stdout) is control


def _migration(directory: Path, name: str, header: str) -> None:
    body = '"""A migration.\n\nRevision ID: x\n"""\n\nfrom alembic import op\n\n' + header
    (directory / f"{name}.py").write_text(body + "\n\ndef upgrade() -> None:\n    op.execute('SELECT 1')\n")


def test_migration_head_is_read_from_the_revision_lines(tmp_path: Path) -> None:
    """What lets a store open without importing Alembic; anything unusual defers to Alembic (None)."""
    from api.wiring import _head_of

    _migration(tmp_path, "0001_a", 'revision = "0001_a"\ndown_revision = None')
    _migration(tmp_path, "0002_b", 'revision: str = "0002_b"\ndown_revision: str | None = "0001_a"')
    assert _head_of(tmp_path) == "0002_b"
    _migration(tmp_path, "0003_c", "revision = '0003_c'\ndown_revision = '0001_a'  # a branch")
    assert _head_of(tmp_path) is None  # two heads
    _migration(tmp_path, "0004_merge", 'revision = "0004_merge"\ndown_revision = ("0002_b", "0003_c")')
    assert _head_of(tmp_path) == "0004_merge"


@pytest.mark.parametrize(
    "header",
    [
        'revision = "0002_b"\ndown_revision = (\n    "0001_a",\n)',  # not on one line
        'revision = "0002_b"\ndown_revision = "0001_a"\nrevision = "0002_c"',  # assigned twice
        '"""\nrevision = "0009_fake"\n"""\nrevision = "0002_b"\ndown_revision = "0001_a"',  # in a string
        'revision = "0002_b"',  # no down_revision
        'revision = make_id()\ndown_revision = "0001_a"',  # not a literal
        'revision = "0002_b"; x = 1\ndown_revision = "0001_a"',  # two statements
    ],
)
def test_migration_head_defers_when_unsure(tmp_path: Path, header: str) -> None:
    from api.wiring import _head_of

    _migration(tmp_path, "0001_a", 'revision = "0001_a"\ndown_revision = None')
    _migration(tmp_path, "0002_b", header)
    assert _head_of(tmp_path) is None


def _group_invocations() -> list[list[str]]:
    import typer.main

    from api.cli import app

    root = typer.main.get_command(app)
    assert isinstance(root, typer.main.TyperGroup)
    calls: list[list[str]] = []
    for info in app.registered_groups:
        assert info.name is not None
        group = root.commands[info.name]
        assert isinstance(group, typer.main.TyperGroup)
        calls += [[info.name], [info.name, "--help"], [info.name, "no-such-command"]]
        calls += [[info.name, sub, "--help"] for sub in group.commands]
    return calls


def test_every_group_is_mapped_to_the_module_that_registers_it() -> None:
    """GROUP_MODULES names each group of the whole app, and its module registers exactly that group."""
    import typer

    from api.cli import GROUP_MODULES, whole_app
    from api.cli.options import typer_app

    assert sorted(GROUP_MODULES) == sorted(str(g.name) for g in whole_app().registered_groups)
    for name, module in GROUP_MODULES.items():
        scratch: typer.Typer = typer_app("probe")
        __import__(f"api.cli.{module}", fromlist=["register"]).register(scratch)
        assert name in {g.name for g in scratch.registered_groups}, (name, module)


def test_a_group_alone_answers_as_the_whole_app() -> None:
    """main() builds only the named group (command_line_app): same help, usage and errors, same codes."""
    from typer.testing import CliRunner

    from api.cli import app, command_line_app

    runner = CliRunner()
    calls = _group_invocations()
    assert len(calls) > 40
    for args in calls:
        view = command_line_app(args)
        assert view is not app, args
        whole, alone = runner.invoke(app, args), runner.invoke(view, args)
        assert (alone.exit_code, alone.output) == (whole.exit_code, whole.output), args
    for args in ([], ["--help"], ["init", "--help"], ["restore", "--help"], ["no-such-group"], ["--x"]):
        assert command_line_app(args) is app, args
