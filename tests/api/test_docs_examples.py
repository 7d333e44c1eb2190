"""Every documented command runs as written.

The ``sh`` blocks of README.md and docs/*.md are run, in order, through the real
``hushdb`` on ``PATH`` in one fresh directory (the default ``./.hushdb`` data
directory, no ``HUSHDB_*`` settings), each block as one ``bash -e -o pipefail``
script: every command in it must exit 0.  A block is not run only when it says
why: a first line ``# not run: REASON`` or ``# synopsis ...`` (optional parts in
brackets), a block that needs a running server (``hushdb serve``, ``curl``,
the API on localhost:8000), or ``make`` targets (they run the whole suite, this test included).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SH_BLOCK = re.compile(r"^```sh\n(.*?)^```", re.S | re.M)
# What only a synopsis has: optional parts, placeholders, elisions.
PLACEHOLDER = re.compile(r"\[--|<[a-z_ ]+>|\.\.\.|\bID\b|\bDIR\b")
BLOCK_TIMEOUT_SECONDS = 300


@dataclass(frozen=True)
class Block:
    path: Path
    line: int
    text: str

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"

    def skip_reason(self) -> str | None:
        first = self.text.lstrip().splitlines()[0] if self.text.strip() else ""
        if first.startswith("# not run:"):
            return first.removeprefix("# not run:").strip()
        if first.startswith("# synopsis"):
            return "a synopsis (optional parts in brackets), not a command to run"
        if re.search(r"^\s*make\s", self.text, re.M):
            return "make targets run the whole suite (this test included) and the demo; CI runs them"
        if re.search(r"localhost:8000|\bcurl\b|^\s*hushdb serve\b", self.text, re.M):
            return "needs a running server"
        return None


def blocks() -> list[Block]:
    found = []
    for path in DOCUMENTS:
        text = path.read_text(encoding="utf-8")
        for match in SH_BLOCK.finditer(text):
            found.append(Block(path, text.count("\n", 0, match.start()) + 1, match.group(1)))
    return found


def test_every_block_runs_or_says_why() -> None:
    all_blocks = blocks()
    assert all_blocks, "no sh blocks found"
    runnable = [b for b in all_blocks if b.skip_reason() is None]
    quick_start = [b for b in runnable if b.path.name == "README.md" and "customers import" in b.text]
    assert quick_start, "the README's quick start is not a runnable block"
    for block in all_blocks:
        reason = block.skip_reason()
        if reason is None:
            assert not PLACEHOLDER.search(block.text), f"{block.where}: placeholders in a block that is run"
        else:
            assert reason, f"{block.where}: '# not run:' without a reason"


@pytest.mark.slow
@pytest.mark.e2e
def test_documented_commands_run_as_written(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUSHDB_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["COLUMNS"] = "80"  # what a pipe gets: output must not be wrapped mid-word
    ran = []
    for block in blocks():
        if block.skip_reason() is not None:
            continue
        result = subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", block.text],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=BLOCK_TIMEOUT_SECONDS,
            check=False,
        )
        shown = f"{block.where} exit {result.returncode}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        assert result.returncode == 0, shown
        assert "Traceback" not in result.stderr, shown
        ran.append((block, result.stdout))
    readme = [out for block, out in ran if block.path.name == "README.md"]
    assert readme, "the README's quick start did not run"
    quick_start = readme[0]
    # each rep imports only their own customers: nothing is rejected
    assert re.search(r"imported \d+ customers, rejected 0", quick_start), quick_start
    assert "rejected 0" in quick_start and not re.search(r"rejected [1-9]", quick_start), quick_start
    # output for people: no Python reprs, correct plurals
    assert not re.search(r"\{'|\bNone\b|\bTrue\b|\bFalse\b", quick_start), quick_start
    assert not re.search(r"\b1 notes\b|\b1 customers\b", quick_start), quick_start
    assert "audit log intact" in quick_start, quick_start
