"""``hushdb export ...``: campaign exports (mail-merge) through the outbound gate."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli.options import AsSubject, DataDir, JsonFlag, typer_app
from api.cli.output import print_json, progress_bar, say_err
from api.cli.root import opened
from core.errors import InputError

export_app = typer_app("Exports: mail-merge campaigns (purpose marketing).")

MAX_TEMPLATE_BYTES = 100_000


def _read_template(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read template {path}: {exc.strerror}") from exc
    if len(data) > MAX_TEMPLATE_BYTES:
        raise InputError(f"template {path} is larger than {MAX_TEMPLATE_BYTES} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"template {path} is not UTF-8") from exc


@export_app.command("mailmerge")
def mailmerge(
    campaign: Annotated[str, typer.Option("--campaign", help="Campaign name (recorded in the audit log).")],
    fields: Annotated[
        str, typer.Option("--fields", help="Comma-separated merge fields (full_name,email,city,...).")
    ],
    out_dir: Annotated[Path, typer.Option("--out", help="Output directory (must not exist).")],
    as_subject: AsSubject,
    template: Annotated[
        Path | None, typer.Option("--template", help="Jinja2 letter template (FILE.j2).")
    ] = None,
    channel: Annotated[
        str, typer.Option("--channel", help="email or post (whose consent counts).")
    ] = "email",
    fmt: Annotated[str, typer.Option("--format", help="csv or jsonl (recipients file).")] = "csv",
    data_dir: DataDir = None,
    json_out: JsonFlag = False,
) -> None:
    """Export a campaign: consenting, unsuppressed recipients; every letter checked before it is written."""
    from core.export import MailmergeRequest

    with opened(data_dir) as svc:
        request = MailmergeRequest(
            campaign=campaign,
            fields=tuple(f.strip() for f in fields.split(",")),
            template=_read_template(template),
            channel=channel,
            format=fmt,
            template_name=template.name if template is not None else None,
        )
        service = svc.mailmerge
        ctx = svc.context(as_subject, "marketing")
        try:
            with progress_bar("exporting") as bar:
                task = bar.add_task("export", total=None)
                manifest = service.run(ctx, request, out_dir, progress=lambda n: bar.advance(task, n))
        except KeyboardInterrupt:
            # the service removed its partial directory (nothing under --out) and audited the failure
            say_err(f"error: export interrupted; nothing was written to {out_dir}")
            raise typer.Exit(130) from None
    if json_out:
        print_json(manifest.to_dict())
        return
    quarantined = ", ".join(f"{k} {v}" for k, v in manifest.quarantined.items()) or "none"
    suppressed = ", ".join(f"{k} {v}" for k, v in manifest.suppressed.items() if v) or "none"
    typer.echo(
        f"campaign {manifest.campaign}: {manifest.selected} selected, {manifest.exported} exported, "
        f"{manifest.quarantined_total} quarantined ({quarantined})"
    )
    typer.echo(f"suppressed: {suppressed}")
    typer.echo(
        f"audit events {manifest.audit['first_seq']}..{manifest.audit['last_seq']}; "
        f"manifest: {Path(manifest.out_dir) / 'manifest.json'}"
    )
    if manifest.quarantined_total:
        say_err(
            f"{manifest.quarantined_total} letters withheld: see {Path(manifest.out_dir) / 'quarantine.jsonl'}"
        )


def register(app: typer.Typer) -> None:
    """Add ``hushdb export`` to ``app``."""
    app.add_typer(export_app, name="export")


__all__ = ["export_app", "register"]
