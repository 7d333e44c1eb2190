"""``hushdb notes ...``: add, import and show notes (analysed once on write, masked on the way out)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from api.cli.options import AsSubject, DataDir, JsonFlag, Purpose, typer_app
from api.cli.output import out, plural, print_json, run_import, say_err
from api.cli.root import opened

notes_app = typer_app("Notes: analysed once on write, masked on the way out.")


@notes_app.command("add")
def notes_add(
    external_id: str,
    as_subject: AsSubject,
    text: Annotated[str | None, typer.Option("--text", help="The note text.")] = None,
    stdin: Annotated[bool, typer.Option("--stdin", help="Read the note text from standard input.")] = False,
    data_dir: DataDir = None,
    json_out: JsonFlag = False,
) -> None:
    """Add a note; prints its id, sensitivity, labels and findings (--json: {note_id, sensitivity, labels,
    findings}) — never the matched values."""
    if (text is None) == (not stdin):
        say_err("error: give exactly one of --text or --stdin")
        raise typer.Exit(2)
    if stdin:
        raw = sys.stdin.buffer.read()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            say_err("error: the note on stdin is not valid UTF-8")
            raise typer.Exit(2) from None
    assert text is not None
    with opened(data_dir) as svc:
        receipt = svc.notes.add(svc.context(as_subject, "service"), external_id, text)
        if json_out:
            print_json(receipt.to_dict())
            return
        doc = receipt.to_dict()
        labels = ", ".join(doc["labels"]) or "none"
        out.print(
            f"added note {doc['note_id']} to {external_id}: sensitivity {doc['sensitivity']}; labels: {labels}",
            markup=False,
            highlight=False,
        )
        for finding in doc["findings"]:  # type, category and place; never the matched text
            where = f"characters {finding.get('start')}-{finding.get('end')}"
            kind = " ".join(str(finding[k]) for k in ("type", "category") if finding.get(k))
            out.print(f"  {kind} at {where}", markup=False, highlight=False)


@notes_app.command("import")
def notes_import(
    file: Path, as_subject: AsSubject, data_dir: DataDir = None, json_out: JsonFlag = False
) -> None:
    """Import notes from CSV (external_id,author,created_at,text); each is analysed once."""
    from core.csv_import import note_rows

    with opened(data_dir) as svc:
        ctx = svc.context(as_subject, "service")
        run_import(
            file,
            "analysing notes",
            "notes",
            lambda p: svc.notes.import_notes(ctx, note_rows(file), progress=p),
            json_out=json_out,
        )


@notes_app.command("show")
def notes_show(
    external_id: str,
    as_subject: AsSubject,
    purpose: Purpose,
    data_dir: DataDir = None,
    json_out: JsonFlag = False,
) -> None:
    """Show a customer's notes, masked as the policy requires for SUBJECT and PURPOSE."""
    with opened(data_dir) as svc:
        notes = svc.gateway.read_notes(svc.context(as_subject, purpose), external_id)
        docs = [{"note_id": n.note_id, **n.values} for n in notes]
        if json_out:
            print_json(docs)
            return
        for doc in docs:
            body = doc.get("body")
            head = f"[{doc.get('created_at', '')}] {doc.get('author', '')} ({doc['sensitivity']})"
            out.print(head, markup=False, highlight=False)
            out.print(f"  {body if body is not None else '<withheld>'}", markup=False, highlight=False)
            if doc.get("labels"):
                out.print(f"  labels: {', '.join(doc['labels'])}", markup=False, highlight=False)
        out.print(plural(len(docs), "note"), highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(notes_app, name="notes")


__all__ = ["notes_app", "register"]
