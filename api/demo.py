"""`make demo`: the end-to-end story on the embedded SQLite default, narrated.

Every step runs the real `hushdb` command line against a fresh data directory
(``./demo-out/data``), so the demo doubles as a tour of the CLI.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

from rich.console import Console

from api.demo_incident import incident_story

console = Console()
ROOT = Path.cwd() / "demo-out"
DATA = ROOT / "data"
HUSHDB = str(Path(sys.executable).parent / "hushdb")


def step(title: str) -> None:
    console.rule(f"[bold]{title}")


def run(*args: str, ok: tuple[int, ...] = (0,)) -> str:
    cmd = [HUSHDB, *args]
    shown = " ".join(a if " " not in a else repr(a) for a in args)
    console.print(f"[dim]$ hushdb {shown}[/]")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUSHDB_")}
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    text = (result.stdout + result.stderr).rstrip()
    if text:
        console.print(text, markup=False, highlight=False)
    if result.returncode not in ok:
        console.print(f"[red]unexpected exit code {result.returncode}[/]")
        raise SystemExit(1)
    return result.stdout


def first_id(path: Path) -> str:
    with path.open(encoding="utf-8", newline="") as fh:
        return next(csv.DictReader(fh))["external_id"]


def main() -> None:
    if ROOT.exists():
        shutil.rmtree(ROOT)
    ROOT.mkdir()
    dd = ("--data-dir", str(DATA))

    step("1. A new store: key file (0600), audit signing key, encrypted schema")
    run("init", *dd)

    step("2. Synthetic customers (English and Chinese), transactions and notes")
    run("demo-data", "--customers", "200", "--seed", "7", "--out", str(ROOT / "csv"))  # also per owner

    step("3. Each sales rep imports the customers they own; bad rows are reported by line, never echoed")
    run("customers", "import", str(ROOT / "csv" / "customers-alice.csv"), "--as", "alice", *dd)
    run("customers", "import", str(ROOT / "csv" / "customers-bob.csv"), "--as", "bob", *dd)
    bad = ROOT / "bad-rows.csv"
    bad.write_text(
        "external_id,full_name,birth_date,owner\nX1,Mary Example,not-a-date,alice\nX2,,1970-01-01,alice\n",
        encoding="utf-8",
    )
    run("customers", "import", str(bad), "--as", "alice", *dd, ok=(3,))
    run("transactions", "import", str(ROOT / "csv" / "transactions.csv"), *dd)

    mine = first_id(ROOT / "csv" / "customers-alice.csv")
    step("4. Governed reads: alice sees her customer; bob cannot see alice's; compliance sees masks")
    run("customers", "show", mine, "--as", "alice", "--purpose", "service", *dd)
    run("customers", "show", mine, "--as", "bob", "--purpose", "service", *dd, ok=(4,))
    run("customers", "show", mine, "--as", "cora", "--purpose", "compliance", *dd)
    run("customers", "show", mine, "--as", "mailer", "--purpose", "service", *dd, ok=(7,))

    step("5. Analysts profile pseudonymous behaviour only, for customers who did not object")
    run("profile", "rfm", "--as", "ana", *dd)

    step("6. Key rotation re-wraps data keys without re-encrypting data")
    run("keys", "rotate", *dd)

    step("7. The data protection officer erases a customer (crypto-shredding)")
    run("erase", first_id(ROOT / "csv" / "customers-bob.csv"), "--as", "dana", *dd)

    incident_story(run, DATA, ROOT / "incident")
    console.print(f"\n[bold green]Demo finished.[/] Data directory: {DATA}")


if __name__ == "__main__":
    main()
