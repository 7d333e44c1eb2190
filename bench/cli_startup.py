"""Benchmark: CLI start-up, in CPU seconds (user + system) of a fresh process (issue 16).

Runs ``hushdb --help``, ``hushdb audit verify --help`` and a real ``hushdb audit
verify`` on a small initialised store (a new data directory: one init, a few
verifications), each ``--runs`` times, and prints the median and the minimum CPU
time against ``python -c pass`` and ``python -c "import sqlalchemy"`` measured in
the same run (target: under 0.5 s for ``--help`` and for ``audit verify``).

Two modes: ``as-is`` uses the environment as it is (with PYTHONDONTWRITEBYTECODE=1
every run compiles hushdb's own modules again), ``warm-bytecode`` points
PYTHONPYCACHEPREFIX at a temporary directory filled by a first run, as an
installed package (whose bytecode pip compiles) starts.

    .venv/bin/python bench/cli_startup.py [--quick] [--runs N]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TARGET_SECONDS = 0.5


def cpu_seconds(cmd: list[str], env: dict[str, str]) -> float:
    """User + system CPU time of one child process running ``cmd``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(cmd, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def measure(cmd: list[str], env: dict[str, str], runs: int) -> tuple[float, float]:
    cpu_seconds(cmd, env)  # a first run fills the bytecode cache (warm mode) and the OS file cache
    times = [cpu_seconds(cmd, env) for _ in range(runs)]
    return statistics.median(times), min(times)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="3 runs per command")
    parser.add_argument("--runs", type=int, default=None, help="runs per command (default 9, --quick 3)")
    args = parser.parse_args()
    runs = args.runs or (3 if args.quick else 9)

    py = sys.executable
    hushdb = [py, "-m", "api.cli"]
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("HUSHDB_")}
    with tempfile.TemporaryDirectory(prefix="hushdb-startup-") as tmp:
        data_dir = Path(tmp) / "home"
        init = subprocess.run(
            [*hushdb, "init", "--data-dir", str(data_dir)],
            env=base_env,
            cwd=REPO,
            capture_output=True,
            check=False,
        )
        if init.returncode != 0:
            sys.exit(f"hushdb init failed: {init.stderr.decode(errors='replace').strip()}")
        warm_env = {k: v for k, v in base_env.items() if k != "PYTHONDONTWRITEBYTECODE"}
        warm_env["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pycache")
        commands = {
            "python -c pass": [py, "-c", "pass"],
            "python -c 'import sqlalchemy'": [py, "-c", "import sqlalchemy"],
            "hushdb --help": [*hushdb, "--help"],
            "hushdb audit verify --help": [*hushdb, "audit", "verify", "--help"],
            "hushdb audit verify (small store)": [*hushdb, "audit", "verify", "--data-dir", str(data_dir)],
        }
        print(f"CPU seconds (user+sys) per process, median / min of {runs} runs; target < {TARGET_SECONDS} s")
        print(f"{'command':<36} {'as-is':>15} {'warm-bytecode':>15}")
        for label, cmd in commands.items():
            cold = measure(cmd, base_env, runs)
            warm = measure(cmd, warm_env, runs)
            flag = ""
            if label.startswith("hushdb"):
                flag = "  ok" if warm[0] < TARGET_SECONDS else "  over target"
            print(f"{label:<36} {cold[0]:>7.3f}/{cold[1]:<7.3f} {warm[0]:>7.3f}/{warm[1]:<7.3f}{flag}")
        print(
            f"PYTHONDONTWRITEBYTECODE in this environment: {os.environ.get('PYTHONDONTWRITEBYTECODE') or 'unset'}"
        )
        # typer 0.29 builds a pydantic validator per parameter (~0.1 s); pyproject.toml pins < 0.29
        print(f"typer {version('typer')}, SQLAlchemy {version('sqlalchemy')}")


if __name__ == "__main__":
    main()
