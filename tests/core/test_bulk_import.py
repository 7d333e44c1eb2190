"""The bulk import path: time-ordered ids, the driver-level INSERT, and preparation in a worker process."""

from __future__ import annotations

import datetime as dt
import os
import signal
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import core.prepare_pool as prepare_pool
import core.writes as writes
from api.wiring import Hush
from core.errors import InputError
from core.models import consent_events_t, customer_keys_t, customers_t, utcnow
from core.prepare_pool import PreparePool
from core.records import CustomerInput
from core.store import CUSTOMER_ROW, KEY_ROW, PreparedCustomer, new_customer_id
from core.writes import RowError


def customer(i: int, *, owner: str = "alice", **changes: Any) -> CustomerInput:
    values: dict[str, Any] = {
        "external_id": f"E{i:04d}",
        "full_name": f"Person Number {i}",
        "owner": owner,
        "email": f"person{i}@example.com",
        "phone": f"+44 7700 {900000 + i:06d}",
        "postal_address": f"{i} Long Road, Leeds LS1 1AA",
        "birth_date": dt.date(1980, 1, 1) + dt.timedelta(days=i),
        "consent_marketing_email": i % 2 == 0,
        "consent_marketing_post": True,
        "consent_profiling": None if i % 3 else False,
    }
    values.update(changes)
    return CustomerInput(**values)


# -- ids -----------------------------------------------------------------------


def test_customer_ids_are_uuid7_unique_and_time_ordered() -> None:
    first = [new_customer_id() for _ in range(2000)]
    time.sleep(0.002)
    later = new_customer_id()
    assert len(set(first)) == len(first)
    for cid in (*first[:50], later):
        parsed = uuid.UUID(cid)
        assert str(parsed) == cid
        assert parsed.version == 7
        assert parsed.variant == uuid.RFC_4122
    assert max(first) < later  # a later millisecond sorts after every earlier id
    now_ms = time.time_ns() // 1_000_000
    assert abs(int(later.replace("-", "")[:12], 16) - now_ms) < 60_000


# -- the driver-level INSERT ------------------------------------------------------


def _stored(conn: sa.Connection, table: sa.Table, key: str, value: str) -> dict[str, Any]:
    cols = [c.name for c in table.columns]
    if conn.dialect.name == "sqlite":
        select = ", ".join(f"{c}, typeof({c})" for c in cols)
        row = conn.exec_driver_sql(f"SELECT {select} FROM {table.name} WHERE {key} = ?", (value,)).one()
        return {c: (row[2 * i], row[2 * i + 1]) for i, c in enumerate(cols)}
    name = f"{table.schema}.{table.name}" if table.schema else table.name  # keystore.customer_keys
    row = conn.exec_driver_sql(
        f"SELECT {', '.join(cols)} FROM {name} WHERE {key} = %(v)s", {"v": value}
    ).one()
    return dict(zip(cols, row, strict=True))


@pytest.mark.parametrize("sensitive", [False, True])
def test_bulk_insert_stores_exactly_what_sqlalchemy_stores(hush: Hush, sensitive: bool) -> None:
    """Every column of customers and customer_keys: same values, same SQLite storage classes."""
    store = hush.writes.store
    name = "Daughter Killed in Car Crash" if sensitive else "Plain Name"
    p = store.prepare(customer(1, full_name=name, birth_date=None), now=utcnow())
    twin_id = new_customer_id()
    twin_row = {**dict(zip(CUSTOMER_ROW, p.row, strict=True)), "id": twin_id, "external_id": "TWIN"}
    twin_row["pseudonym"] = "p_twin"
    twin_key = {**dict(zip(KEY_ROW, p.key_row, strict=True)), "customer_id": twin_id}
    with hush.engine.begin() as conn:
        store.insert(conn, [p], source="test")
        conn.execute(sa.insert(customers_t).values(**twin_row))
        conn.execute(sa.insert(customer_keys_t).values(**twin_key))
    with hush.engine.connect() as conn:
        ours = _stored(conn, customers_t, "id", p.customer_id)
        theirs = _stored(conn, customers_t, "id", twin_id)
        ours_key = _stored(conn, customer_keys_t, "customer_id", p.customer_id)
        theirs_key = _stored(conn, customer_keys_t, "customer_id", twin_id)
    for column in ("id", "external_id", "pseudonym"):
        ours.pop(column), theirs.pop(column)
    ours_key.pop("customer_id"), theirs_key.pop("customer_id")
    assert ours == theirs
    assert ours_key == theirs_key
    assert (ours["birth_date_ct"] in (None, (None, "null"))) is True  # left out of the INSERT: NULL
    assert (ours["review_reason"] in (None, (None, "null"))) is (not sensitive)


def test_columns_the_bulk_insert_may_leave_out_have_no_database_default(hush: Hush) -> None:
    """bulk_insert leaves out a column that is NULL in every row only when that stores NULL."""
    from core.store import _null_by_default

    with hush.engine.connect() as conn:
        for table in (customers_t, customer_keys_t, consent_events_t):
            omittable = [c.name for c in table.columns if _null_by_default(c)]
            if conn.dialect.name == "sqlite":
                defaults = {
                    r[1]: r[4] for r in conn.exec_driver_sql(f"PRAGMA table_info({table.name})").all()
                }
            else:
                defaults = dict(
                    conn.exec_driver_sql(
                        "SELECT column_name, column_default FROM information_schema.columns "
                        "WHERE table_name = %(t)s",
                        {"t": table.name},
                    ).all()
                )
            assert {c: defaults[c] for c in omittable} == {c: None for c in omittable}
    assert "text_analysis_ct" in [c.name for c in customers_t.columns if _null_by_default(c)]
    assert "dek_version" not in [c.name for c in customers_t.columns if _null_by_default(c)]


def test_prepared_rows_name_every_column_in_order() -> None:
    assert tuple(c.name for c in customers_t.columns) == CUSTOMER_ROW
    assert tuple(c.name for c in customer_keys_t.columns) == KEY_ROW
    from core.store import _CONSENT_ROW

    assert set(_CONSENT_ROW) == {c.name for c in consent_events_t.columns} - {"id"}  # id: autoincrement


def test_every_column_the_import_copies_has_a_binary_copy_type() -> None:
    """On PostgreSQL the import's COPY runs in the binary format only when every column's type is mapped."""
    from core.store import _binary_copy_type

    for table in (customers_t, customer_keys_t, consent_events_t):
        unmapped = [c.name for c in table.columns if _binary_copy_type(c.type) is None]
        assert unmapped == [], table.name
    assert _binary_copy_type(sa.Numeric()) is None  # unknown types keep the text format


def test_bulk_insert_with_mixed_null_columns(hush: Hush) -> None:
    """A column NULL in some rows only is bound as NULL row by row."""
    store = hush.writes.store
    now = utcnow()
    rows = [
        store.prepare(customer(i, birth_date=None if i % 2 else dt.date(1990, 1, i)), now=now) for i in (1, 2)
    ]
    with hush.engine.begin() as conn:
        store.insert(conn, rows, source="test")
    with hush.engine.connect() as conn:
        stored = dict(conn.execute(sa.select(customers_t.c.external_id, customers_t.c.birth_date_ct)).all())
    assert stored["E0001"] is None and stored["E0002"] is not None


# -- preparation in a worker process ------------------------------------------------


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Tiny transactions and chunks, one worker, and a count of chunks that came back from it."""
    monkeypatch.setattr(writes, "IMPORT_BATCH", 7)
    monkeypatch.setattr(prepare_pool, "CHUNK", 3)
    monkeypatch.setattr(prepare_pool, "default_workers", lambda: 1)
    from_worker: list[int] = []
    real = prepare_pool._from_wire

    def counting(wire: Any) -> Any:
        out = real(wire)
        from_worker.append(len(out))
        return out

    monkeypatch.setattr(prepare_pool, "_from_wire", counting)
    parent = os.getpid()
    real_prepare = prepare_pool._prepare_values

    def slower_here(*args: Any) -> Any:
        if os.getpid() == parent:
            time.sleep(0.02)  # leave the worker time to take chunks (it starts with a fork)
        return real_prepare(*args)

    monkeypatch.setattr(prepare_pool, "_prepare_values", slower_here)
    return from_worker


def _rows() -> list[tuple[int, CustomerInput | RowError]]:
    rows: list[tuple[int, CustomerInput | RowError]] = []
    for i in range(40):
        line = i + 2
        if i == 5:
            rows.append((line, RowError(line, "row is not valid UTF-8")))
        elif i == 9:
            rows.append((line, customer(i, email="not-an-email")))
        elif i == 13:
            rows.append((line, customer(i, birth_date=dt.date.today() + dt.timedelta(days=30))))
        elif i == 17:
            rows.append((line, customer(3)))  # duplicate of line 5's external_id, another batch
        elif i == 20:
            rows.append((line, customer(19)))  # duplicate within the same batch
        elif i == 25:
            rows.append((line, customer(i, owner="bob")))
        elif i == 30:
            rows.append((line, customer(i, full_name="Their Son Died in an Accident")))
        else:
            rows.append((line, customer(i)))
    return rows


EXPECTED_REJECTED = [
    (7, "row is not valid UTF-8"),
    (15, "birth_date is in the future"),
    (19, "duplicate external_id (already stored)"),
    (22, "duplicate external_id in this file"),
    (27, "owner must be the importing subject for this role"),
]


def test_import_through_the_worker_matches_the_contract(hush: Hush, small_batches: list[int]) -> None:
    ctx = hush.context("alice", "service")
    report = hush.writes.import_customers(ctx, _rows())
    assert sum(small_batches) > 0  # chunks really came back from the worker process
    assert [(e.line, e.reason) for e in report.rejected] == EXPECTED_REJECTED
    assert [(w.line, w.field) for w in report.warnings] == [(11, "email")]  # kept as given (issue 14)
    assert report.imported == 40 - len(EXPECTED_REJECTED)
    assert hush.gateway.read_customer(ctx, "E0000").values["email"] == "person0@example.com"
    record = hush.gateway.read_customer(ctx, "E0039")
    assert record.values["full_name"] == "Person Number 39"
    assert record.values["phone"] == "+447700900039"
    assert record.values["birth_date"] == (dt.date(1980, 1, 1) + dt.timedelta(days=39)).isoformat()
    with hush.engine.connect() as conn:
        flagged = conn.execute(
            sa.select(customers_t.c.external_id).where(customers_t.c.under_review.is_(True))
        ).scalars()
        assert list(flagged) == ["E0030"]
        consents = conn.execute(sa.select(sa.func.count()).select_from(consent_events_t)).scalar_one()
        keys = conn.execute(sa.select(sa.func.count()).select_from(customer_keys_t)).scalar_one()
        events = conn.exec_driver_sql(
            "SELECT row_count FROM audit_events WHERE action = 'write' AND resource = 'customer'"
            " AND decision = 'allow' ORDER BY seq"
        ).all()
        denials = conn.exec_driver_sql(
            "SELECT count(*) FROM audit_events WHERE action = 'write' AND resource = 'customer'"
            " AND decision = 'deny'"
        ).scalar_one()
    assert keys == report.imported
    kept = [i for i in range(40) if i not in (5, 13, 17, 20, 25)]
    assert consents == sum(
        2 + (i % 3 == 0) for i in kept
    )  # email and post always given, profiling on i % 3 == 0
    assert [r[0] for r in events] == [6, 6, 5, 6, 7, 5]  # one audited transaction per batch of 7 rows
    assert sum(r[0] for r in events) == report.imported
    assert denials == 1  # the row for another owner (line 27) is an audited denial (issue 15)


def test_worker_and_in_process_imports_agree(
    hush: Hush, monkeypatch: pytest.MonkeyPatch, small_batches: list[int]
) -> None:
    ctx = hush.context("alice", "service")
    rows = _rows()
    with_worker = hush.writes.import_customers(ctx, rows)
    assert small_batches
    monkeypatch.setattr(prepare_pool, "default_workers", lambda: 0)
    small_batches.clear()
    renamed = [
        (line, item if isinstance(item, RowError) else replace(item, external_id="X" + item.external_id))
        for line, item in rows
    ]
    in_process = hush.writes.import_customers(ctx, renamed)
    assert not small_batches
    assert in_process.imported == with_worker.imported
    assert [(e.line, e.reason) for e in in_process.rejected] == [
        (e.line, e.reason) for e in with_worker.rejected
    ]


def test_a_bug_in_the_worker_is_not_swallowed(
    hush: Hush, monkeypatch: pytest.MonkeyPatch, small_batches: list[int]
) -> None:
    real = hush.writes.store.prepare

    def broken(inp: CustomerInput, *, now: dt.datetime | None = None) -> PreparedCustomer:
        if inp.external_id == "E0002":
            raise ZeroDivisionError("bug")
        return real(inp, now=now)

    monkeypatch.setattr(hush.writes.store, "prepare", broken)  # inherited by the forked worker
    with pytest.raises(ZeroDivisionError):
        hush.writes.import_customers(
            hush.context("alice", "service"), [(i + 2, customer(i)) for i in range(20)]
        )


def test_a_dead_worker_falls_back_to_preparing_in_process(
    hush: Hush, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = hush.writes.store
    parent = os.getpid()
    real = store.prepare

    def dies_in_the_worker(
        inp: CustomerInput, *, now: dt.datetime | None = None, random: bytes | None = None
    ) -> PreparedCustomer:
        if inp.external_id == "E0000" and os.getpid() != parent:
            os._exit(9)  # killed while holding the first chunk (out of memory, kill -9)
        return real(inp, now=now, random=random)

    monkeypatch.setattr(store, "prepare", dies_in_the_worker)
    items: list[CustomerInput | None] = [customer(i) for i in range(12)]
    items[4] = None
    items[7] = customer(7, full_name="Bad\x07Name")
    with PreparePool(store, workers=1, chunk=2) as pool:
        ticket = pool.submit(items, now=utcnow())
        assert pool.started
        pool._processes[0].join(timeout=30)  # the worker took the first chunk and died
        outcomes = pool.collect(ticket)
        assert not pool.started  # noticed, and no longer used
        again = pool.collect(pool.submit(items[:3], now=utcnow()))
    assert outcomes[4] is None
    assert isinstance(outcomes[7], InputError)
    assert outcomes[7].message == "full_name contains control characters"
    good = [o for o in outcomes if isinstance(o, PreparedCustomer)]
    assert [p.external_id for p in good] == [f"E{i:04d}" for i in range(12) if i not in (4, 7)]
    assert len({p.customer_id for p in good}) == len(good)
    assert [p.external_id for p in again if isinstance(p, PreparedCustomer)] == ["E0000", "E0001", "E0002"]


def test_small_imports_do_not_start_a_worker(hush: Hush) -> None:
    with PreparePool(hush.writes.store, workers=1, chunk=10) as pool:
        outcomes = pool.collect(pool.submit([customer(i) for i in range(10)], now=utcnow()))
        assert not pool.started
    assert all(isinstance(o, PreparedCustomer) for o in outcomes)


def test_a_duplicate_key_in_the_bulk_insert_is_a_conflict_and_rolls_back(hush: Hush) -> None:
    from core.errors import ConflictError

    store = hush.writes.store
    now = utcnow()
    first = store.prepare(customer(1), now=now)
    again = store.prepare(customer(1), now=now)  # same external_id, raced past the pre-check
    with hush.engine.begin() as conn:
        store.insert(conn, [first], source="test")
    with pytest.raises(ConflictError), hush.engine.begin() as conn:
        store.insert(conn, [store.prepare(customer(2), now=now), again], source="test")
    with hush.engine.connect() as conn:
        assert conn.execute(sa.select(customers_t.c.external_id)).scalars().all() == ["E0001"]
        assert conn.execute(sa.select(sa.func.count()).select_from(customer_keys_t)).scalar_one() == 1


def test_the_caller_prepares_only_chunks_of_the_batch_it_collects(
    hush: Hush, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chunks of later batches are left to the worker, which goes on with them while the caller inserts.

    The worker is made slow, so that the caller finds chunks of its own batch
    untaken and prepares them; it must never take one of a later batch (the
    worker would then sit idle while the caller inserts).
    """
    parent = os.getpid()
    real = prepare_pool._prepare_values
    here: list[str] = []

    def slow_worker(store: Any, items: Any, now: Any) -> Any:
        if os.getpid() == parent:
            here.append(items[0][0])  # external_id of the chunk's first row
        else:
            time.sleep(0.3)
        return real(store, items, now)

    monkeypatch.setattr(prepare_pool, "_prepare_values", slow_worker)
    store = hush.writes.store
    batches = [
        [customer(b * 10 + i) for i in range(4)] for b in range(3)
    ]  # chunks of 2: E..0, E..2 per batch
    with PreparePool(store, workers=1, chunk=2) as pool:
        tickets = [pool.submit(list(items), now=utcnow()) for items in batches]
        assert pool.started
        first = pool.collect(tickets[0])
        assert here and set(here) <= {"E0000", "E0002"}  # some of batch 0, nothing of batches 1 and 2
        rest = [pool.collect(t) for t in tickets[1:]]
    outcomes = [first, *rest]
    for b, got in enumerate(outcomes):
        assert [p.external_id for p in got if isinstance(p, PreparedCustomer)] == [
            f"E{b * 10 + i:04d}" for i in range(4)
        ]
    assert len({p.customer_id for got in outcomes for p in got if isinstance(p, PreparedCustomer)}) == 12


@pytest.fixture
def prepared_log(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Every row prepared, by either process, appended to a file: (pid, external_id) per line."""
    path = tmp_path / "prepared.log"
    real = prepare_pool._prepare_values

    def logging_prepare(store: Any, items: Any, now: Any) -> Any:
        with open(path, "a", encoding="utf-8") as fh:
            fh.writelines(f"{os.getpid()} {values[0]}\n" for values in items if values is not None)
        return real(store, items, now)

    monkeypatch.setattr(prepare_pool, "_prepare_values", logging_prepare)
    return path


def _no_hang(seconds: int) -> Any:
    import signal

    def fail(*_: Any) -> None:
        raise TimeoutError("the pool hung")

    signal.signal(signal.SIGALRM, fail)
    signal.alarm(seconds)
    return signal


def test_a_stale_task_never_claims_a_later_chunk_in_its_slot(
    hush: Hush, monkeypatch: pytest.MonkeyPatch, prepared_log: Any
) -> None:
    """Four claim slots, one-row chunks, a worker far behind: slots are reused while old tasks wait.

    The caller prepares the chunks the worker has not reached; when the worker
    reads those stale tasks, their slots hold later chunks, which it must not
    claim.  Every row is prepared exactly once, and nothing hangs.
    """
    monkeypatch.setattr(prepare_pool, "SLOTS", 4)
    parent = os.getpid()
    logged = prepare_pool._prepare_values

    def lagging(store: Any, items: Any, now: Any) -> Any:
        if os.getpid() != parent:
            time.sleep(0.05)
        return logged(store, items, now)

    monkeypatch.setattr(prepare_pool, "_prepare_values", lagging)
    batches = [[customer(b * 10 + i) for i in range(2)] for b in range(12)]
    signal = _no_hang(60)
    try:
        outcomes = []
        with PreparePool(hush.writes.store, workers=1, chunk=1) as pool:
            tickets = [pool.submit(list(batches[0]), now=utcnow())]
            for items in batches[1:]:
                tickets.append(pool.submit(list(items), now=utcnow()))
                outcomes.append(pool.collect(tickets.pop(0)))
            outcomes.append(pool.collect(tickets.pop(0)))
    finally:
        signal.alarm(0)
    got = [p.external_id for batch in outcomes for p in batch if isinstance(p, PreparedCustomer)]
    assert got == [c.external_id for batch in batches for c in batch]
    lines = prepared_log.read_text().split()
    ids = lines[1::2]
    assert sorted(ids) == sorted(got)  # each row prepared once: none twice, by either process
    assert {pid for pid in lines[0::2]} >= {str(parent)}


def test_a_batch_submitted_before_the_worker_started_is_prepared_here(hush: Hush) -> None:
    """One chunk alone starts no worker; when the next batch starts one, the first is still collected."""
    signal = _no_hang(30)
    try:
        with PreparePool(hush.writes.store, workers=1, chunk=10) as pool:
            first = pool.submit([customer(i) for i in range(5)], now=utcnow())
            assert not pool.started
            second = pool.submit([customer(i) for i in range(5, 30)], now=utcnow())
            assert pool.started
            a, b = pool.collect(first), pool.collect(second)
    finally:
        signal.alarm(0)
    assert [p.external_id for p in [*a, *b] if isinstance(p, PreparedCustomer)] == [
        f"E{i:04d}" for i in range(30)
    ]


def test_a_worker_killed_holding_the_claim_lock_does_not_hang_the_import(
    hush: Hush, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The caller waits for the slots' lock a bounded time, then goes on without workers."""
    monkeypatch.setattr(prepare_pool, "WAIT_SECONDS", 0.01)
    signal = _no_hang(60)
    try:
        with PreparePool(hush.writes.store, workers=1, chunk=2) as pool:
            ticket = pool.submit([customer(i) for i in range(8)], now=utcnow())
            assert pool.started
            pool._processes[0].kill()  # the worker is gone ...
            pool._processes[0].join()
            holder = os.fork()
            if holder == 0:  # ... and another process dies holding the lock
                # (unless the killed worker died holding it: then it is held already, as wanted)
                pool._claims.get_lock().acquire(timeout=5)
                os._exit(0)
            os.waitpid(holder, 0)
            outcomes = pool.collect(ticket)
            assert not pool.started
            again = pool.collect(pool.submit([customer(i) for i in range(8, 12)], now=utcnow()))
    finally:
        signal.alarm(0)
    assert [p.external_id for p in [*outcomes, *again] if isinstance(p, PreparedCustomer)] == [
        f"E{i:04d}" for i in range(12)
    ]


def test_prepare_uses_the_random_bytes_it_is_given_for_one_row_only(hush: Hush) -> None:
    """A chunk draws its rows' id bits and data keys in one CSPRNG read: each row gets its own."""
    from core.store import ID_RANDOM_BYTES, ROW_RANDOM_BYTES

    store = hush.writes.store
    random = os.urandom(ROW_RANDOM_BYTES * 2)
    a = store.prepare(customer(1), random=random[:ROW_RANDOM_BYTES])
    b = store.prepare(customer(2), random=random[ROW_RANDOM_BYTES:])
    assert a.data_key == random[ID_RANDOM_BYTES:ROW_RANDOM_BYTES] and len(a.data_key) == 32
    assert b.data_key == random[ROW_RANDOM_BYTES + ID_RANDOM_BYTES :] and a.data_key != b.data_key
    assert uuid.UUID(a.customer_id).version == 7 and a.customer_id != b.customer_id
    with pytest.raises(ValueError):
        store.prepare(customer(3), random=random[:-1])
    chunk = prepare_pool._prepare_values(
        store, [prepare_pool._input_values(customer(i)) for i in range(4)], utcnow()
    )
    keys = [p.data_key for p in chunk if isinstance(p, PreparedCustomer)]
    assert len(keys) == 4 and len(set(keys)) == 4


def test_the_store_pseudonym_is_the_key_rings(hush: Hush) -> None:
    store = hush.writes.store
    for _ in range(5):
        cid = new_customer_id()
        assert store.pseudonym(cid) == hush.keyring.pseudonym(cid)
    prepared = store.prepare(customer(1))
    assert prepared.pseudonym == hush.keyring.pseudonym(prepared.customer_id)


def test_the_pool_warms_the_store_up_before_it_forks(hush: Hush, monkeypatch: pytest.MonkeyPatch) -> None:
    """What the store builds on first use is built once, before the fork, from a few rows of the batch."""
    store = hush.writes.store
    events: list[str] = []
    real_warm, real_start = store.warm_up, PreparePool._start

    def warm(sample: Any) -> None:
        events.append(f"warm {len(list(sample))}")
        real_warm([])

    def start(self: PreparePool) -> bool:
        events.append("fork")
        return real_start(self)

    monkeypatch.setattr(store, "warm_up", warm)
    monkeypatch.setattr(PreparePool, "_start", start)
    signal = _no_hang(30)
    try:
        with PreparePool(store, workers=1, chunk=5) as pool:
            out = pool.collect(pool.submit([customer(i) for i in range(30)], now=utcnow()))
            out += pool.collect(pool.submit([customer(i) for i in range(30, 40)], now=utcnow()))
    finally:
        signal.alarm(0)
    assert events == [f"warm {prepare_pool.WARM_UP_ROWS}", "fork"]  # once, before the only fork
    assert [p.external_id for p in out if isinstance(p, PreparedCustomer)] == [f"E{i:04d}" for i in range(40)]


def test_the_worker_drops_the_importing_processs_signal_handlers(hush: Hush) -> None:
    """An import run from a process with its own SIGTERM handler (a server, a job runner): the worker
    does not keep it, so a SIGTERM ends the worker, and closing the pool does not wait on it."""
    previous = signal.signal(signal.SIGTERM, lambda *_: None)
    try:
        with PreparePool(hush.writes.store, workers=1, chunk=2) as pool:
            ticket = pool.submit([customer(i) for i in range(6)], now=utcnow())
            assert pool.started
            worker = pool._processes[0]
            # the worker drops the handler first thing; on a busy machine it may not have got there yet
            status = Path(f"/proc/{worker.pid}/status")
            deadline = time.monotonic() + 20
            while status.exists() and time.monotonic() < deadline:
                caught = next(
                    (
                        int(line.split()[1], 16)
                        for line in status.read_text().splitlines()
                        if line.startswith("SigCgt:")
                    ),
                    0,
                )
                if not caught & (1 << (signal.SIGTERM - 1)):
                    break
                time.sleep(0.05)
            else:
                if status.exists():
                    pytest.fail("the worker kept the SIGTERM handler")
            os.kill(worker.pid or 0, signal.SIGTERM)
            worker.join(timeout=10)
            assert worker.exitcode == -signal.SIGTERM
            outcomes = pool.collect(ticket)  # the dead worker's chunks are prepared here
        assert all(isinstance(o, PreparedCustomer) for o in outcomes)
    finally:
        signal.signal(signal.SIGTERM, previous)
