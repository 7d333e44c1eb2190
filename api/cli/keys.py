"""``hushdb keys rotate``: re-wrap every data key under a new key version."""

from __future__ import annotations

from typing import Annotated

import typer

from api.cli.options import DataDir, typer_app
from api.cli.output import out, progress_bar
from api.cli.root import opened

keys_app = typer_app("Key management.")


@keys_app.command("rotate")
def keys_rotate(
    data_dir: DataDir = None,
    retire: Annotated[
        bool,
        typer.Option(
            "--retire", help="Then retire old key versions that no data key uses (deleted from the key file)."
        ),
    ] = False,
) -> None:
    """Re-wrap every data key under a new key version (resumable; data is not re-encrypted; safe beside `serve`)."""
    with opened(data_dir) as svc:
        ctx = svc.operator_context("compliance")
        with progress_bar("re-wrapping data keys") as bar:
            task = bar.add_task("rotate", total=None)
            report = svc.writes.rotate_keys(
                ctx,
                retire=retire,
                progress=lambda d, t: bar.update(task, completed=d, total=t),
            )
        verb = "resumed rotation to" if report.resumed else "rotated to"
        retired = f"; retired versions {list(report.retired_versions)}" if report.retired_versions else ""
        out.print(
            f"{verb} key version {report.target_version}: {report.rewrapped} data keys re-wrapped{retired}"
        )


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app, name="keys")


__all__ = ["keys_app", "register"]
