"""The options and arguments shared by hushdb's commands, each defined once.

A command group module imports these (``from api.cli.options import DataDir, ...``)
instead of spelling ``typer.Option("--data-dir", ...)`` itself, so a flag means
the same thing, with the same help, everywhere.  Options one command alone
uses stay with that command.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from core.errors import InputError


def typer_app(help_text: str, *, no_args_is_help: bool = True) -> typer.Typer:
    """A Typer app of the CLI: a crash never prints local variables (decrypted values, keys)."""
    return typer.Typer(pretty_exceptions_show_locals=False, help=help_text, no_args_is_help=no_args_is_help)


DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="Data directory (default: $HUSHDB_HOME or ./.hushdb).")
]
AsSubject = Annotated[str, typer.Option("--as", help="Subject acting (roles come from the policy files).")]
AsSubjectOpt = Annotated[
    str | None,
    typer.Option("--as", help="Subject acting (default: the local operator holding the key file)."),
]
AsAnalyst = Annotated[
    str | None,
    typer.Option(
        "--as", help="Subject acting (default: the one subject with the analyst role in roles.csv)."
    ),
]
Purpose = Annotated[
    str, typer.Option("--purpose", help="service, marketing, profiling, data_quality, compliance or erasure.")
]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON.")]
AsOf = Annotated[
    str | None, typer.Option("--as-of", help="ISO date or date-time (UTC); later transactions are ignored.")
]
PolicyDir = Annotated[
    Path | None, typer.Option("--policy-dir", help="Policy directory (default: from settings).")
]


def parse_as_of(value: str | None, name: str = "--as-of") -> dt.datetime | None:
    """An ISO date or date-time as UTC; a bare date means the end of that day."""
    if value is None:
        return None
    try:
        if len(value) == 10:
            day = dt.date.fromisoformat(value)
            return dt.datetime.combine(day, dt.time(23, 59, 59, 999999), tzinfo=dt.UTC)
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InputError(f"{name} is not an ISO 8601 date or date-time") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


__all__ = [
    "AsAnalyst",
    "AsOf",
    "AsSubject",
    "AsSubjectOpt",
    "DataDir",
    "JsonFlag",
    "PolicyDir",
    "Purpose",
    "parse_as_of",
    "typer_app",
]
