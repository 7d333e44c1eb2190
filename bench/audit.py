"""Audit log benchmark: append throughput (batched and one event per transaction) and verification speed.

    .venv/bin/python bench/audit.py            # 1M events verified
    .venv/bin/python bench/audit.py --quick    # 100k events verified, smaller append runs
    .venv/bin/python bench/audit.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_audit

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

from audit.checkpoints import JsonlCheckpointSink
from audit.events import AuditEvent
from audit.log import AuditLog
from audit.queries import access_report
from audit.refs import RecordRefs
from audit.signing import load_or_create_signer
from audit.verify import verify_engine
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


def timed(fn: Callable[[], None]) -> tuple[float, float]:
    """(wall seconds, this process's CPU seconds)."""
    t0, c0 = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - t0, time.process_time() - c0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short smoke run (100k events verified)")
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temporary directory")
    args = parser.parse_args()

    batched_n = 50_000 if args.quick else 200_000
    single_n = 1_000 if args.quick else 5_000
    verify_n = 100_000 if args.quick else TARGET_VERIFY_N
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
        engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
