"""``hushdb policy``: validate the policy files and show the effective permission table."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from core.config import load_settings
from core.errors import HushError

if TYPE_CHECKING:  # Casbin loads when a command runs, not for `hushdb --help`
    from policies.authorizer import Authorizer

policy_app = typer.Typer(
    pretty_exceptions_show_locals=False,
    help="Check and show the access policy (files under the policy directory).",
)

PolicyDirOption = Annotated[
    Path | None, typer.Option("--policy-dir", help="Policy directory (default: from settings).")
]
DataDirOption = Annotated[Path | None, typer.Option("--data-dir", help="hushdb data directory.")]


def _fail(exc: HushError) -> typer.Exit:
    typer.echo(f"error: {exc}", err=True)
    return typer.Exit(code=exc.exit_code)


def _load(policy_dir: Path | None, data_dir: Path | None) -> Authorizer:
    from policies.authorizer import Authorizer

    directory = policy_dir if policy_dir is not None else load_settings(data_dir).policy_dir
    return Authorizer.load(directory)


@policy_app.command("check")
def check(policy_dir: PolicyDirOption = None, data_dir: DataDirOption = None) -> None:
    """Validate the policy files and print the effective permission table per role and purpose."""
    from policies.table import build_table

    try:
        authorizer = _load(policy_dir, data_dir)
        typer.echo(build_table(authorizer).render(), nl=False)
    except HushError as exc:
        raise _fail(exc) from exc
    typer.echo("policy OK")


@policy_app.command("show")
def show(
    role: Annotated[str, typer.Option("--role", help="The role to show.")],
    policy_dir: PolicyDirOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Print what one role may do, per purpose."""
    from policies.table import build_table

    try:
        authorizer = _load(policy_dir, data_dir)
        typer.echo(build_table(authorizer, roles=[role]).render(), nl=False)
    except HushError as exc:
        raise _fail(exc) from exc
