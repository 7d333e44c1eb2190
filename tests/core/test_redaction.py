"""Secrets never printed: ``repr`` of settings, key sources and record types shows neither keys nor values.

Each test builds the object with known secret values (a master key, a database password,
personal data, decrypted values read through the gateway), then searches ``repr`` (and
``str``) for every one of them.  Typer apps are built so that a crash never prints locals.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
from pathlib import Path

import pytest
import typer

from api.wiring import Hush
from core.config import load_settings
from core.csv_import import note_rows
from core.gateway import CustomerRecord, NoteRecord
from core.notes import NoteInput
from core.records import CustomerChanges, CustomerInput
from core.redact import REDACTED, Secret, redact_url

NAME = "Zebulon Quixwright"
EMAIL = "zebulon.quixwright@canary.example"
PHONE = "+44 7700 900417"
ADDRESS = "17 Canary Wharf Lane, Quixton"
NOTE = "Zebulon said his sister Philippa was in hospital"
VALUES = (NAME, "Quixwright", EMAIL, "zebulon.quixwright", PHONE, "900417", ADDRESS, "Philippa", "1961-02-03")


def assert_hidden(text: str, secrets: tuple[str, ...] = VALUES) -> None:
    leaked = [s for s in secrets if s.lower() in text.lower()]
    assert not leaked, f"{leaked} in {text!r}"


def test_secret_never_prints_its_value() -> None:
    s = Secret(b"\x01" * 32)
    assert repr(s) == str(s) == f"{s}" == f"{s:>40}" == REDACTED
    assert repr([s, {"k": s}]) == f"[{REDACTED}, {{'k': {REDACTED}}}]"
    assert s.reveal() == b"\x01" * 32
    assert s == Secret(b"\x01" * 32) and s != Secret(b"\x02" * 32)


def test_settings_and_key_source_hide_the_master_key_and_the_database_password(tmp_path: Path) -> None:
    key = os.urandom(32)
    b64 = base64.b64encode(key).decode()
    settings = load_settings(
        tmp_path,
        env={
            "HUSHDB_MASTER_KEY": b64,
            "HUSHDB_DATABASE_URL": "postgresql+psycopg://hush:s3cr3t-pa55@db.example:5432/hush?sslpassword=k3y-pa55",
        },
    )
    for text in (repr(settings), str(settings), repr(settings.key_source)):
        assert_hidden(text, (b64, repr(key)[2:-1], key.hex(), "s3cr3t-pa55", "k3y-pa55"))
    assert "db.example" in repr(settings) and REDACTED in repr(settings)  # the rest stays readable


@pytest.mark.parametrize(
    ("url", "hidden"),
    [
        ("postgresql://u:p%40ss@h/db", "p%40ss"),
        ("postgresql+psycopg://u:pw@h:5432/db?sslmode=require", "pw@"),
        ("postgresql://h/db?user=u&password=topsecret", "topsecret"),
        # SQLAlchemy reads everything up to the "@" as the password, "/", "?" and "#" included
        ("postgresql+psycopg://u:pa/ss@h/db", "pa/ss"),
        ("postgresql://u:p?w0rd@h:5432/db", "p?w0rd"),
        ("postgresql://u:p#w0rd@h/db", "p#w0rd"),
    ],
)
def test_database_urls_lose_their_passwords(url: str, hidden: str) -> None:
    assert hidden not in redact_url(url)
    assert redact_url("sqlite:////data/hushdb.sqlite3") == "sqlite:////data/hushdb.sqlite3"


def test_input_records_show_their_shape_not_their_values(tmp_path: Path) -> None:
    customer = CustomerInput(
        external_id="C-1",
        full_name=NAME,
        owner="alice",
        email=EMAIL,
        phone=PHONE,
        postal_address=ADDRESS,
        birth_date=dt.date(1961, 2, 3),
    )
    changes = CustomerChanges(full_name=NAME, email=EMAIL, phone=PHONE, clear=("postal_address",))
    csv = tmp_path / "notes.csv"
    csv.write_text(f"external_id,author,created_at,text\nC-1,alice,,{NOTE}\n")
    [(_, note)] = list(note_rows(csv))
    assert isinstance(note, NoteInput)
    for obj in (customer, changes, note):
        assert_hidden(repr(obj))
        assert_hidden(str(obj))
    assert "C-1" in repr(customer) and "full_name=<redacted>" in repr(customer)
    assert "clear=('postal_address',)" in repr(changes)


def test_gateway_records_hide_decrypted_values(hush: Hush) -> None:
    alice = hush.context("alice", "service")
    hush.writes.create(
        alice,
        CustomerInput(
            external_id="R-1",
            full_name=NAME,
            owner="alice",
            email=EMAIL,
            phone=PHONE,
            postal_address=ADDRESS,
            birth_date=dt.date(1961, 2, 3),
        ),
    )
    hush.notes.add(alice, "R-1", NOTE)
    record = hush.gateway.read_customer(alice, "R-1")
    assert isinstance(record, CustomerRecord) and record.values["email"] == EMAIL  # decrypted
    [found] = hush.gateway.find_customers(alice, email=EMAIL)
    notes = hush.gateway.read_notes(alice, "R-1")
    assert isinstance(notes[0], NoteRecord) and notes[0].values["body"]
    for obj in (record, found, notes, notes[0]):
        assert_hidden(repr(obj))
        assert_hidden(str(obj))
    assert "email" in repr(record) and "R-1" in repr(record)


def test_every_typer_app_hides_locals_on_a_crash() -> None:
    from api import cli

    apps: list[typer.Typer] = []

    def collect(app: typer.Typer) -> None:
        apps.append(app)
        for group in app.registered_groups:
            assert group.typer_instance is not None
            collect(group.typer_instance)

    collect(cli.app)
    assert len(apps) >= 8
    for app in apps:
        assert app.pretty_exceptions_show_locals is False, app.info.help
