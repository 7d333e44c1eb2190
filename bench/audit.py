"""Audit log benchmark: append throughput (batched and one event per transaction), the cost of signing the
head in every appending transaction, full and incremental verification speed.

    .venv/bin/python bench/audit.py            # 10M-event log, 1M new events verified incrementally
    .venv/bin/python bench/audit.py --quick    # 200k-event log, 100k new, smaller append runs
    .venv/bin/python bench/audit.py --log-events 2000000 --new-events 1000000   # sizes as arguments
    .venv/bin/python bench/audit.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_audit

Head signing (issue 15): every appending transaction signs the new chain head (one Ed25519
signature, however many events it appends).  Printed: events/s with and without it, for one event
per transaction (the gateway's common case, where it costs most) and for batches of 1,000.  The
"without" runs use a bench-only subclass on a separate database (the real log refuses to extend
an unsigned head).  Incremental verification: the log is filled to --log-events, fully verified
and the verification recorded (as ``hushdb audit verify`` does), then --new-events are appended
and ``verify --since-checkpoint`` runs; the figure is scaled to 1M new events.  Filling 10M events
takes several minutes (about 50k events/s): use the size arguments on a busy machine.

Targets (issue 3): batched append >= 50,000 events/s on SQLite; 1M events verified in <= 10 s.
Also measured: the gateway's scan shape (one event per transaction carrying 1,000 record refs,
as ``Gateway.scan_customers`` writes per batch) in refs/s, and ``access_report`` for one customer
on the filled log.  Event construction (validation) is timed separately from the append itself.
Figures depend on the machine's disk and load; run twice and compare.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy.engine import Engine

from audit.checkpoints import JsonlCheckpointSink
from audit.events import AuditEvent
from audit.log import AuditLog
from audit.queries import access_report
from audit.refs import RecordRefs
from audit.signing import load_or_create_signer
from audit.verify import VERIFY_ACTION, VerifyReport, verify_engine
from core.db import create_db_engine, migrate

BATCH = 1000
SCAN_REFS = 1000
LOOKUPS = 40
TARGET_APPEND = 50_000.0
TARGET_VERIFY_S = 10.0
TARGET_VERIFY_N = 1_000_000


def make_events(refs: RecordRefs, start: int, n: int, *, with_refs: bool) -> list[AuditEvent]:
    return [
        AuditEvent(
            subject=f"user{i % 13}",
            roles=("sales",),
            purpose="service",
            action="read",
            resource="customer",
            fields=("email", "full_name", "phone"),
            decision="allow",
            row_count=1,
            request_id=f"req-{i}",
            record_refs=(refs.ref(f"cust-{i}"),) if with_refs else (),
            detail={"policy": "3f2a9c", "plan": 7},
        )
        for i in range(start, start + n)
    ]


def make_scan_events(refs: RecordRefs, start: int, n: int, per_event: int) -> list[AuditEvent]:
    """Events shaped like one batch of Gateway.scan_customers: one event, ``per_event`` record refs."""
    return [
        AuditEvent(
            subject="analyst-1",
            roles=("analyst",),
            purpose="profiling",
            action="read",
            resource="customer",
            fields=("pseudonym", "country", "segment"),
            decision="allow",
            row_count=per_event,
            request_id=f"scan-{k}",
            record_refs=tuple(refs.ref(f"scan-{k * per_event + j}") for j in range(per_event)),
            detail={"policy": "3f2a9c", "batch": k},
        )
        for k in range(start, start + n)
    ]


class UnsignedHeadLog(AuditLog):
    """Bench only: the log without per-transaction head signing (and without the head check)."""

    def _sign_head(self, seq: int, tip: str) -> tuple[str, str]:
        return "", ""

    def _check_head(self, conn: object, seq: int, tip: str, head_key_id: str, signature: str) -> None:
        return None


def head_signing_cost(tmp: Path, refs: RecordRefs, single_n: int, batches: int, rounds: int = 2) -> list[str]:
    """events/s with and without head signing, each run on its own fresh SQLite database; the
    variants alternate and the best of ``rounds`` counts (the machine is shared: noise only slows)."""
    lines = []
    signer = load_or_create_signer(tmp / "cost-signing.key")
    results: dict[str, tuple[float, float, float, float]] = {}
    variants: tuple[tuple[str, type[AuditLog]], ...] = (
        ("without head signing", UnsignedHeadLog),
        ("with head signing", AuditLog),
    )
    for k in range(rounds):
        for label, cls in variants if k % 2 == 0 else variants[::-1]:
            engine = create_db_engine(f"sqlite:///{tmp / (label.replace(' ', '-') + f'-{k}.sqlite3')}")
            migrate(engine)
            log = cls(signer=signer, checkpoint_sink=JsonlCheckpointSink(tmp / f"{label}-{k}.jsonl"))
            single = make_events(refs, 0, single_n, with_refs=True)
            t0, c0 = time.perf_counter(), time.process_time()
            for event in single:
                with engine.begin() as conn:
                    log.append(conn, event)
            single_rate = single_n / (time.perf_counter() - t0)
            single_cpu = single_n / (time.process_time() - c0)
            batch_events = [
                make_events(refs, single_n + j * BATCH, BATCH, with_refs=True) for j in range(batches)
            ]
            t0, c0 = time.perf_counter(), time.process_time()
            for events in batch_events:
                with engine.begin() as conn:
                    log.append_many(conn, events)
            batch_rate = batches * BATCH / (time.perf_counter() - t0)
            batch_cpu = batches * BATCH / (time.process_time() - c0)
            best = results.get(label, (0.0, 0.0, 0.0, 0.0))
            results[label] = (
                max(best[0], single_rate),
                max(best[1], batch_rate),
                max(best[2], single_cpu),
                max(best[3], batch_cpu),
            )
            engine.dispose()
    (s0, b0, cs0, cb0), (s1, b1, cs1, cb1) = results["without head signing"], results["with head signing"]
    lines.append(f"  head signing, one event per transaction  : {s1:>9,.0f} events/s with, {s0:>9,.0f} without "
                 f"(wall ratio {s1 / s0:.2f}); CPU-time rates {cs1:,.0f} vs {cs0:,.0f} "
                 f"({(1 / cs1 - 1 / cs0) * 1e6:+.0f} µs CPU per transaction)")  # fmt: skip
    lines.append(f"  head signing, {BATCH} events per transaction: {b1:>9,.0f} events/s with, {b0:>9,.0f} without "
                 f"(wall ratio {b1 / b0:.2f}); CPU-time rates {cb1:,.0f} vs {cb0:,.0f} (ratio {cb1 / cb0:.2f})")  # fmt: skip
    return lines


def record_verification(engine: Engine, log: AuditLog, report: VerifyReport) -> None:
    """What ``hushdb audit verify`` appends after a successful verification (core.compliance)."""
    detail: dict[str, str | int | bool | None] = {
        "ok": True, "verified_seq": report.head_seq, "verified_hash": report.head_hash,
        "ref_part": report.ref_part, "ref_fill": report.ref_fill,
    }  # fmt: skip
    event = AuditEvent(subject="operator:bench", roles=("operator",), purpose="compliance", action=VERIFY_ACTION,
                       resource="audit", fields=("verify",), decision="allow", detail=detail)  # fmt: skip
    with engine.begin() as conn:
        log.append_verification(conn, event)


def timed(fn: Callable[[], None]) -> tuple[float, float]:
    """(wall seconds, this process's CPU seconds)."""
    t0, c0 = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - t0, time.process_time() - c0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short smoke run (100k events verified)")
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temporary directory")
    parser.add_argument("--log-events", type=int, default=None,
                        help="events in the log before the incremental run (default 10M; quick: 200k)")  # fmt: skip
    parser.add_argument("--new-events", type=int, default=None,
                        help="events appended and verified incrementally (default 1M; quick: 100k)")  # fmt: skip
    args = parser.parse_args()
    log_events = args.log_events or (200_000 if args.quick else 10_000_000)
    new_events = args.new_events or (100_000 if args.quick else 1_000_000)

    batched_n = 50_000 if args.quick else 200_000
    single_n = 1_000 if args.quick else 5_000
    verify_n = log_events
    scan_n = 30 if args.quick else 200

    with tempfile.TemporaryDirectory(prefix="hushdb-bench-audit-") as tmp:
        data = Path(tmp)
        url = args.database_url or f"sqlite:///{data / 'hushdb.sqlite3'}"
        engine = create_db_engine(url)
        migrate(engine)
        signer = load_or_create_signer(data / "audit-signing.key")
        checkpoints = data / "checkpoints.jsonl"
        log = AuditLog(signer=signer, checkpoint_sink=JsonlCheckpointSink(checkpoints), checkpoint_every=1000)
        refs = RecordRefs(b"bench-reference-key-0123456789ab")
        appended = 0
        print(f"audit bench on {engine.dialect.name}{' (quick)' if args.quick else ''}")
        for line in head_signing_cost(data, refs, single_n, 20 if args.quick else 50):
            print(line)

        in_process = engine.dialect.name == "sqlite"

        def cpu_note(count: float, cpu_s: float, unit: str = "events/s") -> str:
            # On a shared machine wall time swings with other load; SQLite runs in this process,
            # so its CPU time (user + system, including the page writes) is the steadier figure.
            return f"  [CPU-time rate {count / cpu_s:,.0f} {unit}]" if in_process and cpu_s > 0 else ""

        def append_batched(total: int, with_refs: bool) -> tuple[float, float, float]:
            nonlocal appended
            build = append = append_cpu = 0.0
            for start in range(appended, appended + total, BATCH):
                t0 = time.perf_counter()
                events = make_events(refs, start, BATCH, with_refs=with_refs)
                t1, c1 = time.perf_counter(), time.process_time()
                with engine.begin() as conn:
                    log.append_many(conn, events)
                log.publish_checkpoints(engine)
                t2, c2 = time.perf_counter(), time.process_time()
                build += t1 - t0
                append += t2 - t1
                append_cpu += c2 - c1
            appended += total
            return total / append, append_cpu, total / build

        rate_plain, cpu_plain, build_rate = append_batched(batched_n, with_refs=False)
        rate_refs, cpu_refs, _ = append_batched(batched_n, with_refs=True)

        single_events = make_events(refs, appended, single_n, with_refs=True)

        def one_per_transaction() -> None:
            for event in single_events:
                with engine.begin() as conn:
                    log.append(conn, event)
                log.publish_checkpoints(engine)

        single_s, single_cpu = timed(one_per_transaction)
        rate_single = single_n / single_s
        appended += single_n

        scan_events = make_scan_events(refs, 0, scan_n, SCAN_REFS)

        def scan_shaped() -> None:
            for event in scan_events:
                with engine.begin() as conn:
                    log.append(conn, event)
                log.publish_checkpoints(engine)

        scan_s, scan_cpu = timed(scan_shaped)
        appended += scan_n

        print(f"  batched append ({BATCH}/tx), no record refs : {rate_plain:>10,.0f} events/s"
              + cpu_note(batched_n, cpu_plain))  # fmt: skip
        print(f"  batched append ({BATCH}/tx), 1 record ref   : {rate_refs:>10,.0f} events/s"
              + cpu_note(batched_n, cpu_refs))  # fmt: skip
        print(f"  one event per transaction (1 ref)       : {rate_single:>10,.0f} events/s"
              + cpu_note(single_n, single_cpu))  # fmt: skip
        print(f"  (building + validating AuditEvent objects: {build_rate:,.0f} events/s, not included above)")
        print(f"  ratio batched/target {TARGET_APPEND:,.0f}/s: {rate_plain / TARGET_APPEND:.2f} (no refs), "
              f"{rate_refs / TARGET_APPEND:.2f} (1 ref)")  # fmt: skip
        print(f"  ratio batched/single-transaction: {rate_refs / rate_single:.1f}x")
        print(f"  scan shape: {scan_n} events x {SCAN_REFS} refs, one per transaction: "
              f"{scan_n * SCAN_REFS / scan_s:>10,.0f} refs/s ({scan_n / scan_s:,.1f} events/s)"
              + cpu_note(scan_n * SCAN_REFS, scan_cpu, "refs/s"))  # fmt: skip

        fill_start = time.perf_counter()
        while appended < verify_n:
            n = min(50 * BATCH, verify_n - appended)
            events_total = 0
            for start in range(appended, appended + n, BATCH):
                events = make_events(refs, start, BATCH, with_refs=start % 2000 == 0)
                with engine.begin() as conn:
                    log.append_many(conn, events)
                events_total += BATCH
            log.publish_checkpoints(engine)
            appended += events_total
        fill_s = time.perf_counter() - fill_start
        if fill_s > 0.5:
            print(f"  (filled to {appended:,} events in {fill_s:.1f} s)")

        probes = [f"cust-{batched_n + (i * 7919) % batched_n}" for i in range(LOOKUPS // 2)]
        probes += [f"scan-{(i * 104_729) % (scan_n * SCAN_REFS)}" for i in range(LOOKUPS // 2)]
        found = 0
        t0 = time.perf_counter()
        for record_id in probes:
            with engine.connect() as conn:
                found += len(access_report(conn, refs.ref(record_id)))
                conn.rollback()
        lookup_s = time.perf_counter() - t0
        if found < len(probes):
            print(f"  ACCESS REPORT MISSED EVENTS: {found} found for {len(probes)} probed records")
            return 1
        print(f"  access_report for one customer on {appended:,} events: {lookup_s / len(probes) * 1000:.2f} ms "
              f"(mean of {len(probes)}; {found} events found)")  # fmt: skip

        t0, c0 = time.perf_counter(), time.process_time()
        report = verify_engine(engine, checkpoints_path=checkpoints, public_key=signer.public_key)
        verify_s, verify_cpu = time.perf_counter() - t0, time.process_time() - c0
        if not report.ok:
            print(f"  VERIFY FAILED: {report.reason}")
            return 1
        per_million = verify_s * TARGET_VERIFY_N / report.events_checked
        print(f"  verify {report.events_checked:,} events + {report.checkpoints_checked:,} checkpoints: "
              f"{verify_s:.2f} s ({report.events_checked / verify_s:,.0f} events/s)"
              + cpu_note(report.events_checked, verify_cpu))  # fmt: skip
        print(f"  verify time per 1M events: {per_million:.2f} s; ratio to target {TARGET_VERIFY_S:.0f} s: "
              f"{per_million / TARGET_VERIFY_S:.2f} (<= 1.00 meets it)")  # fmt: skip

        record_verification(engine, log, report)
        base = report.head_seq + 1
        fill_start = time.perf_counter()
        for start in range(base, base + new_events, BATCH):
            events = make_events(
                refs, start, min(BATCH, base + new_events - start), with_refs=start % 2000 == 0
            )
            with engine.begin() as conn:
                log.append_many(conn, events)
        log.publish_checkpoints(engine)
        fill_s = time.perf_counter() - fill_start
        t0, c0 = time.perf_counter(), time.process_time()
        inc = verify_engine(
            engine, checkpoints_path=checkpoints, public_key=signer.public_key, incremental=True
        )
        inc_s, inc_cpu = time.perf_counter() - t0, time.process_time() - c0
        if not inc.ok or inc.since_seq != report.head_seq:
            print(f"  INCREMENTAL VERIFY FAILED: {inc.reason}")
            return 1
        print(f"  (appended {new_events:,} new events in {fill_s:.1f} s)")
        print(f"  incremental verify of {inc.events_checked:,} new events on a {inc.head_seq:,}-event log: "
              f"{inc_s:.2f} s ({inc.events_checked / inc_s:,.0f} events/s; per 1M new events: "
              f"{inc_s * 1_000_000 / inc.events_checked:.2f} s)" + cpu_note(inc.events_checked, inc_cpu))  # fmt: skip
        engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
