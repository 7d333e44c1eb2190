"""``hushdb transactions import``: behavioural data, an operator command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli.options import DataDir, JsonFlag, typer_app
from api.cli.output import run_import
from api.cli.root import opened

transactions_app = typer_app("Transactions (behavioural data).")


@transactions_app.command("import")
def transactions_import(
    file: Path,
    data_dir: DataDir = None,
    as_subject: Annotated[
        str | None, typer.Option("--as", help="Audited subject (default: the operator).")
    ] = None,
    json_out: JsonFlag = False,
) -> None:
    """Import transactions from CSV (operator command; rows for unknown customers are rejected)."""
    from core.csv_import import transaction_rows

    with opened(data_dir) as svc:
        ctx = svc.context_or_operator(as_subject, "service")
        run_import(
            file,
            "importing transactions",
            "transactions",
            lambda p: svc.writes.import_transactions(ctx, transaction_rows(file), progress=p),
            json_out=json_out,
        )


def register(app: typer.Typer) -> None:
    app.add_typer(transactions_app, name="transactions")


__all__ = ["register", "transactions_app"]
