"""The ``hushdb`` command line.

Every command takes ``--data-dir DIR`` after its name (else ``HUSHDB_HOME``,
else ``./.hushdb``).  Errors from :mod:`core.errors` become one line on
stderr and the error's exit code; nothing personal is printed unless the
policy allowed the caller to see it.

The package has one import direction::

    api.cli (this module: the root Typer app)
      -> command groups: store, customers, transactions, keys, notes, audit, policy,
         pii, http, export, profile, backup (each ``register(app)``)
        -> options (shared options), output (printing), root (the composition root)

A group never imports another group nor this module; only :mod:`api.cli.root`
builds services (tests/api/test_cli_architecture.py checks both).  Modules load
no database, policy or NLP library until a command needs one, so ``--help``
and ``audit verify`` start fast.
"""

from __future__ import annotations

import importlib
import os
import sys
from functools import cache
from typing import Any

import typer

from api.cli.options import typer_app

HELP = "hushdb: a privacy-first, governed customer data store."

# Command group name -> the module that registers it.  `hushdb GROUP ...` imports that module
# alone (the others cost ~10-25 ms of CPU to import and are not needed to run or describe it).
GROUP_MODULES = {
    "customers": "customers",
    "transactions": "transactions",
    "keys": "keys",
    "notes": "notes",
    "audit": "audit",
    "policy": "policy",
    "pii": "pii",
    "export": "export",
    "profile": "profile",
    "backup": "backup",
    "apikeys": "http",
}


@cache
def whole_app() -> typer.Typer:
    """The app with every command and group (``hushdb``, ``hushdb --help``, top-level commands)."""
    from api.cli import (
        audit,
        backup,
        customers,
        export,
        http,
        keys,
        notes,
        pii,
        policy,
        profile,
        store,
        transactions,
    )

    app = typer_app(HELP)
    # The order of registration is the order `hushdb --help` lists commands (top-level commands
    # first: init, erase, demo-data, serve, dsar, restore) and groups.
    for group in (
        customers,
        transactions,
        keys,
        notes,
        store,
        audit,
        policy,
        pii,
        http,
        export,
        profile,
        backup,
    ):
        group.register(app)
    return app


def __getattr__(name: str) -> Any:
    if name == "app":  # `from api.cli import app`: the whole app, built on first use
        return whole_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def command_line_app(args: list[str]) -> typer.Typer:
    """The app :func:`main` runs for ``hushdb ARGS``: for ``hushdb GROUP ...`` one holding that group alone.

    Typer builds a click command for every registered command before it parses a word
    (~30 ms of CPU for hushdb's commands), and importing every group's module costs more;
    ``hushdb audit verify`` needs the audit group's only.  The group's commands, help and
    errors are the same objects either way.  Anything else (no argument, an option first,
    a top-level command such as ``init``, shell completion) gets the whole app.
    """
    if not args or any(k.startswith("_") and k.endswith("_COMPLETE") for k in os.environ):
        return whole_app()
    module = GROUP_MODULES.get(args[0])
    if module is None:
        return whole_app()
    if whole_app.cache_info().currsize:
        source = whole_app()
    else:
        source = typer_app(HELP)
        importlib.import_module(f"{__name__}.{module}").register(source)
    chosen = [group for group in source.registered_groups if group.name == args[0]]
    view = typer_app(HELP)
    view.registered_groups = chosen
    return view


def main() -> None:
    command_line_app(sys.argv[1:])()


__all__ = ["app", "command_line_app", "main", "whole_app"]
