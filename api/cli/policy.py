"""``hushdb policy``: validate the policy files and show the effective permission table."""

from __future__ import annotations

from typing import Annotated

import typer

from api.cli.options import DataDir, PolicyDir, typer_app
from api.cli.output import fail
from api.cli.root import authorizer
from core.errors import HushError

# Casbin loads when a command runs, not for `hushdb --help`
policy_app = typer_app(
    "Check and show the access policy (files under the policy directory).", no_args_is_help=False
)


@policy_app.command("check")
def check(policy_dir: PolicyDir = None, data_dir: DataDir = None) -> None:
    """Validate the policy files and print the effective permission table per role and purpose."""
    from policies.table import build_table

    try:
        policy = authorizer(policy_dir, data_dir)
        typer.echo(build_table(policy).render(), nl=False)
    except HushError as exc:
        fail(exc)
    typer.echo("policy OK")


@policy_app.command("show")
def show(
    role: Annotated[str, typer.Option("--role", help="The role to show.")],
    policy_dir: PolicyDir = None,
    data_dir: DataDir = None,
) -> None:
    """Print what one role may do, per purpose."""
    from policies.table import build_table

    try:
        policy = authorizer(policy_dir, data_dir)
        typer.echo(build_table(policy, roles=[role]).render(), nl=False)
    except HushError as exc:
        fail(exc)


def register(app: typer.Typer) -> None:
    app.add_typer(policy_app, name="policy")


__all__ = ["policy_app", "register"]
