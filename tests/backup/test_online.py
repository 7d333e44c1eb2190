"""A backup taken while another thread writes is one consistent snapshot (audit verify passes on its restore)."""

from __future__ import annotations

import json
import threading

from core.records import CustomerInput
from tests.backup.conftest import Store


def test_backup_while_writing_is_consistent(store: Store) -> None:
    store.add(1000, 300)
    hush = store.open()
    stop = threading.Event()
    written: list[int] = []
    errors: list[BaseException] = []

    def writer() -> None:
        ctx = hush.context("alice", "service")
        i = 5000
        try:
            while not stop.is_set():
                rows = [
                    (j, CustomerInput(external_id=f"W{i + j}", full_name=f"W {i + j}", owner="alice"))
                    for j in range(5)
                ]
                hush.writes.import_customers(ctx, rows)
                written.append(i)
                i += 5
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while not written:  # the writer is running before the backup starts
            stop.wait(0.01)
        full = store.tmp / "full"
        b1 = store.cli("backup", "create", "--out", str(full))
        inc = store.tmp / "inc"
        b2 = store.cli("backup", "create", "--out", str(inc), "--incremental-from", str(full))
    finally:
        stop.set()
        thread.join()
        hush.close()
    assert not errors, errors
    assert b1.exit_code == 0, b1.output
    assert b2.exit_code == 0, b2.output
    manifest = json.loads((inc / "manifest.json").read_text())
    assert len(written) >= 2  # writes really overlapped the backups

    store.lose_data()
    r = store.cli("restore", str(inc))
    assert r.exit_code == 0, r.output
    v = store.cli("audit", "verify")
    assert v.exit_code == 0, v.output
    readable = store.readable()
    assert len(readable) == manifest["tables"]["customers"]["rows"]  # every restored customer decrypts
    assert all(name == f"W {ext[1:]}" for ext, name in readable.items() if ext.startswith("W"))
