"""Start-up: a command loads only what it needs (no timing asserts; bench/cli_startup.py measures).

``hushdb --help`` and ``hushdb audit verify --help`` load no database, policy or NLP
library; a real ``hushdb audit verify`` on an initialised store loads the database
and the policy but no NLP, data-frame, plotting or migration library, no HTTP
stack, and not the notes or writes services.
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
    "core.pii.engine",
    "core.notes",
    "core.writes",
    "core.export",
    "core.profiling",
)
NEVER_FOR_HELP = (*NEVER_FOR_VERIFY, "sqlalchemy", "casbin", "cryptography", "api.wiring", "core.db")
# help is drawn by rich; verify prints plain lines (rich would be another 30 ms or so)
NEVER_FOR_VERIFY_RUN = (*NEVER_FOR_VERIFY, "rich")

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
    code, loaded = probe(["audit", "verify", "--data-dir", str(data_dir)], NEVER_FOR_VERIFY_RUN)
    assert code == 0, "audit verify did not find the new store intact"
    assert loaded == [], f"audit verify imported {loaded}"
    # the probe itself can see what a command loads: verify does open the database and the policy
    _, needed = probe(["audit", "verify", "--data-dir", str(data_dir)], ("sqlalchemy", "casbin"))
    assert {"sqlalchemy", "casbin"} <= set(needed)
