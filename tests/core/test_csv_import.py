"""CSV readers: bad rows become RowErrors by line and reason; the rest of the file goes on."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from core.csv_import import customer_rows
from core.records import CustomerInput
from core.writes import RowError

HEADER = b"external_id,full_name,email,phone,postal_address,birth_date,owner,consent_marketing_email,consent_marketing_post,consent_profiling\n"


def read(path: Path, body: bytes) -> list[tuple[int, CustomerInput | RowError]]:
    path.write_bytes(HEADER + body)
    return list(customer_rows(path, default_owner="alice"))


def test_only_rows_with_undecodable_bytes_are_rejected(tmp_path: Path) -> None:
    rows = read(
        tmp_path / "c.csv",
        b"A1,Ada,,,,,,,,\n"
        b"A2,Bad \xff Byte,,,,,,,,\n"
        b'A3,"Multi\nLine \xc3\xa9",,,,,,,,\n'  # valid UTF-8 (e acute) over two lines
        b"A4,Tail,,,,,,,,\xfe\n"
        b"A5,\xe6\x9c\xb1\xe5\xa8\x9f,,,,,,,,\n",  # valid UTF-8 (Chinese)
    )
    assert [(line, type(item).__name__) for line, item in rows] == [
        (2, "CustomerInput"),
        (3, "RowError"),
        (4, "CustomerInput"),
        (6, "RowError"),
        (7, "CustomerInput"),
    ]
    assert all(item.reason == "row is not valid UTF-8" for _, item in rows if isinstance(item, RowError))
    names = [item.full_name for _, item in rows if isinstance(item, CustomerInput)]
    assert names == ["Ada", "Multi\nLine \u00e9", "\u6731\u5a1f"]


def test_valid_file_parses_every_field(tmp_path: Path) -> None:
    rows = read(tmp_path / "c.csv", b"A1,Ada,a@example.com,+44 7700 900001,1 Row,1815-12-10,bob,yes,0,\n")
    [(line, item)] = rows
    assert line == 2
    assert item == CustomerInput(
        external_id="A1",
        full_name="Ada",
        owner="bob",
        email="a@example.com",
        phone="+44 7700 900001",
        postal_address="1 Row",
        birth_date=dt.date(1815, 12, 10),
        consent_marketing_email=True,
        consent_marketing_post=False,
        consent_profiling=None,
    )
