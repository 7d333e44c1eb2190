"""How the CLI prints: one-line errors, human values, JSON, progress bars and import reports.

Errors from :mod:`core.errors` become one line on stderr and the error's exit
code.  Piped or redirected output is not re-flowed at 80 columns (rich would
break lines mid-word).  rich itself loads only when a command prints through
it, not for ``hushdb audit verify`` (see the start-up test).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import typer

from core.errors import HushError, InputError

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress

    from core.writes import ImportReport

T = TypeVar("T")


class LazyConsole:
    """A rich Console made on first use, writing to stdout or stderr."""

    def __init__(self, *, stderr: bool) -> None:
        self._stderr = stderr
        self._console: Console | None = None

    @property
    def console(self) -> Console:
        if self._console is None:
            from rich.console import Console

            stream = sys.stderr if self._stderr else sys.stdout
            self._console = Console(stderr=self._stderr, soft_wrap=not stream.isatty())
        return self._console

    @property
    def is_terminal(self) -> bool:
        return self.console.is_terminal

    def print(self, *objects: Any, **kwargs: Any) -> None:
        self.console.print(*objects, **kwargs)


out = LazyConsole(stderr=False)
err = LazyConsole(stderr=True)


def say_err(line: str) -> None:
    """One unwrapped line on stderr (never re-flowed to the terminal width)."""
    sys.stderr.write(line + "\n")


def line(text: str) -> None:
    """One unwrapped line on stdout (hashes and paths are never re-flowed to the terminal width)."""
    sys.stdout.write(text + "\n")


def fail(error: HushError) -> NoReturn:
    """``error: MESSAGE`` on stderr and the error's exit code."""
    say_err(f"error: {error.message}")
    raise typer.Exit(error.exit_code)


def guarded(fn: Callable[[], T]) -> T:
    """``fn()``; a HushError becomes a one-line error and its exit code."""
    try:
        return fn()
    except HushError as exc:
        fail(exc)


def human(value: Any) -> str:
    """A value as a person reads it: no Python reprs (``-`` for nothing, yes/no, ``key: value, ...``)."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return ", ".join(f"{str(k).replace('_', ' ')} {human(v)}" for k, v in value.items()) or "-"
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(human(v) for v in value) or "-"
    return str(value)


def plural(count: int, noun: str, many: str | None = None) -> str:
    """``1 note``, ``2 notes`` (``many`` for irregular plurals)."""
    return f"{count} {noun if count == 1 else (many or noun + 's')}"


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2, default=str) + "\n")


def progress_bar(label: str) -> Progress:
    """A transient bar on stderr (terminals only): label, bar, done/total, time elapsed."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err.console,
        transient=True,
        disable=not err.is_terminal,
    )


def report_import(report: ImportReport, what: str, *, json_out: bool = False) -> None:
    """Rejected rows and warnings one line each (line, field, reason; never a value); exit 3 if any row was rejected."""
    if json_out:
        print_json(report.to_dict())
    else:
        lines = [(r.line, f"line {r.line}: {r.reason}") for r in report.rejected]
        lines += [(w.line, f"line {w.line}: warning: {w.field}: {w.reason}") for w in report.warnings]
        for _, text in sorted(lines, key=lambda item: item[0]):
            say_err(text)
        noun = what[:-1] if what.endswith("s") else what
        summary = f"imported {plural(report.imported, noun)}, rejected {len(report.rejected)}"
        if report.warnings:
            summary += f", kept {len({w.line for w in report.warnings})} with warnings"
        out.print(summary, highlight=False)
    if report.rejected:
        raise typer.Exit(3)


def run_import(
    file: Path,
    label: str,
    what: str,
    call: Callable[[Callable[[int], None]], ImportReport],
    *,
    json_out: bool = False,
) -> None:
    """Run one CSV import with a progress bar sized by the file, then report rejected rows (exit 3)."""
    total = count_lines(file)
    with progress_bar(label) as bar:
        task = bar.add_task("import", total=total)
        report = call(lambda n: bar.advance(task, n))
    report_import(report, what, json_out=json_out)


def count_lines(path: Path) -> int:
    try:
        with path.open("rb") as fh:
            return max(sum(1 for _ in fh) - 1, 0)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from exc


__all__ = [
    "LazyConsole",
    "count_lines",
    "err",
    "fail",
    "guarded",
    "human",
    "line",
    "out",
    "plural",
    "print_json",
    "progress_bar",
    "report_import",
    "run_import",
    "say_err",
]
