"""``hushdb customers ...``: import, show, find, clear a review, set deceased / do-not-contact."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli.options import AsSubject, DataDir, JsonFlag, Purpose, typer_app
from api.cli.output import human, out, print_json, run_import, say_err
from api.cli.root import opened
from core.errors import InputError

customers_app = typer_app("Customers: import, show, find.")

FLAGS = ("deceased", "do-not-contact")


@customers_app.command("import")
def customers_import(
    file: Path, as_subject: AsSubject, data_dir: DataDir = None, json_out: JsonFlag = False
) -> None:
    """Import customers from CSV; bad rows are reported by line (exit 3), good rows imported.

    A row whose email or phone fails its format check is imported with the
    value stored as given (not indexed) and reported as a warning (exit 0).
    """
    from core.csv_import import customer_rows

    with opened(data_dir) as svc:
        ctx = svc.context(as_subject, "service")
        rows = customer_rows(file, default_owner=as_subject)
        run_import(
            file,
            "importing customers",
            "customers",
            lambda p: svc.writes.import_customers(ctx, rows, progress=p),
            json_out=json_out,
        )


@customers_app.command("show")
def customers_show(
    external_id: str,
    as_subject: AsSubject,
    purpose: Purpose,
    data_dir: DataDir = None,
    json_out: JsonFlag = False,
) -> None:
    """Show one customer as the policy lets SUBJECT see it for PURPOSE."""
    with opened(data_dir) as svc:
        record = svc.gateway.read_customer(svc.context(as_subject, purpose), external_id)
        doc = {"external_id": record.external_id, **record.values}
        if json_out:
            print_json(doc)
        else:
            for key, value in doc.items():
                out.print(f"{key}: {human(value)}", markup=False, highlight=False, soft_wrap=True)


@customers_app.command("find")
def customers_find(
    as_subject: AsSubject,
    purpose: Purpose,
    email: Annotated[str | None, typer.Option("--email")] = None,
    phone: Annotated[str | None, typer.Option("--phone")] = None,
    data_dir: DataDir = None,
    json_out: JsonFlag = False,
) -> None:
    """Find customers by email or phone through the blind index.

    Needs read permission on that field for PURPOSE (mask full or partial); prints only the
    plan's fields.  Purpose marketing has no single-customer look-up (exit 7).
    """
    if (email is None) == (phone is None):
        say_err("error: give exactly one of --email or --phone")
        raise typer.Exit(2)
    with opened(data_dir) as svc:
        records = svc.gateway.find_customers(svc.context(as_subject, purpose), email=email, phone=phone)
        docs = [dict(r.values) for r in records]  # only the plan's fields
        if json_out:
            print_json(docs)
        else:
            for doc in docs:
                text = "  ".join(f"{k}: {human(v)}" for k, v in doc.items())
                out.print(text, markup=False, highlight=False)
            out.print(f"{len(docs)} found", highlight=False)


@customers_app.command("clear-review")
def customers_clear_review(external_id: str, as_subject: AsSubject, data_dir: DataDir = None) -> None:
    """A person has looked at the flagged content: lift `under_review` (audited)."""
    with opened(data_dir) as svc:
        seq = svc.writes.clear_review(svc.context(as_subject, "service"), external_id)
        out.print(f"review cleared for {external_id} (audit event {seq})", highlight=False)


@customers_app.command("set-flag")
def set_flag(
    external_id: str,
    flag: Annotated[str, typer.Argument(help="deceased or do-not-contact.")],
    as_subject: AsSubject,
    clear: Annotated[bool, typer.Option("--clear", help="Lift the flag instead of setting it.")] = False,
    purpose: Annotated[
        str, typer.Option("--purpose", help="service (a sales rep's own customer) or compliance.")
    ] = "service",
    as_json: JsonFlag = False,
    data_dir: DataDir = None,
) -> None:
    """Set (or with --clear lift) deceased or do-not-contact on a customer (audited)."""
    # the same governed write as PATCH /customers/ID and the console's "Set a suppression flag"
    value = not clear
    from core.records import CustomerChanges

    changes = CustomerChanges(deceased=value) if flag == "deceased" else CustomerChanges(do_not_contact=value)
    with opened(data_dir) as svc:
        if flag not in FLAGS:
            raise InputError(f"the flag is {' or '.join(FLAGS)}")
        svc.writes.update(svc.context(as_subject, purpose), external_id, changes)
    if as_json:
        print_json({"external_id": external_id, "flag": flag.replace("-", "_"), "value": value})
    else:
        out.print(f"{external_id}: {flag} {'set' if value else 'lifted'}", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(customers_app, name="customers")


__all__ = ["customers_app", "register"]
