"""Eight writers on separate connections leave one valid, gap-free chain."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from audit.events import AuditEvent
from audit.log import AuditLog
from audit.signing import Ed25519Signer
from audit.verify import verify_engine

WRITERS = 8
TOTAL = 10_000


def test_eight_writers_leave_a_gap_free_valid_chain(
    engine: Engine,
    make_log: Callable[..., AuditLog],
    make_event: Callable[..., AuditEvent],
    checkpoints_path: Path,
    signer: Ed25519Signer,
) -> None:
    log = make_log(every=250)
    per_writer = TOTAL // WRITERS
    errors: list[BaseException] = []
    returned: list[tuple[int, int]] = []
    lock = threading.Lock()
    start = threading.Barrier(WRITERS)

    def writer(w: int) -> None:
        rng = random.Random(w)
        try:
            start.wait()
            done = 0
            while done < per_writer:
                n = min(rng.choice([1, 1, 3, 17, 50]), per_writer - done)
                with engine.begin() as conn:
                    span = log.append_many(conn, [make_event(w * per_writer + done + i) for i in range(n)])
                log.publish_checkpoints(engine)
                with lock:
                    returned.append(span)
                done += n
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []

    # the spans handed back never overlap and cover 1..TOTAL exactly
    covered = sorted(seq for first, last in returned for seq in range(first, last + 1))
    assert covered == list(range(1, TOTAL + 1))
    with engine.connect() as conn:
        seqs: list[int] = list(conn.execute(sa.text("SELECT seq FROM audit_events ORDER BY seq")).scalars())
        conn.rollback()
    assert seqs == list(range(1, TOTAL + 1))
    report = verify_engine(engine, checkpoints_path=checkpoints_path, public_key=signer.public_key)
    assert report.ok, report.reason
    assert report.events_checked == TOTAL and report.checkpoints_checked >= 2 * (
        TOTAL // 300
    )  # database + file, every >= 250 events
