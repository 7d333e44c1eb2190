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
from api.cli.options import typer_app

app = typer_app("hushdb: a privacy-first, governed customer data store.")

# The order of registration is the order `hushdb --help` lists commands (top-level commands
# first: init, erase, demo-data, serve, dsar, restore) and groups.
for group in (customers, transactions, keys, notes, store, audit, policy, pii, http, export, profile, backup):
    group.register(app)


def main() -> None:
    app()


__all__ = ["app", "main"]
