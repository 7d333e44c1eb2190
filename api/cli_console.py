"""``hushdb customers set-flag``: deceased / do-not-contact from the terminal (the console's person action).

The same governed write as ``PATCH /customers/ID`` with ``deceased`` or
``do_not_contact`` and the console's "Set a suppression flag": a write of the
customer's ``suppression`` field, authorized by the policy for the subject and
purpose, audited.
"""

from __future__ import annotations

from typing import Annotated

import typer

from api.cli import AsSubject, DataDir, JsonFlag, opened, out, print_json
from core.errors import InputError

FLAGS = ("deceased", "do-not-contact")


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
    value = not clear
    from core.records import CustomerChanges

    changes = CustomerChanges(deceased=value) if flag == "deceased" else CustomerChanges(do_not_contact=value)
    with opened(data_dir) as hush:
        if flag not in FLAGS:
            raise InputError(f"the flag is {' or '.join(FLAGS)}")
        hush.writes.update(hush.context(as_subject, purpose), external_id, changes)
    if as_json:
        print_json({"external_id": external_id, "flag": flag.replace("-", "_"), "value": value})
    else:
        out.print(f"{external_id}: {flag} {'set' if value else 'lifted'}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``set-flag`` to the ``customers`` sub-app."""
    from api.cli import customers_app

    customers_app.command("set-flag")(set_flag)


__all__ = ["register", "set_flag"]
