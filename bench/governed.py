"""Benchmark: governed read of N customers x 5 fields.

Compared in the same run with (a) the store's decrypt-scan of bench/store.py
(SQL, unwrap, decrypt; no policy, masking or audit) — target >= 50% of it; the
raw AES-GCM loop without a database is printed too — and (b) a naive
loop that calls Casbin ``enforce`` per row per field (the design DESIGN.md
invariant 5 forbids); prints the speed-up of the plan-per-query gateway.

    .venv/bin/python bench/governed.py [--customers N] [--quick] [--repeat R]

The governed read and the store's decrypt-scan run R times each, alternately,
on the same store; the best run of each is reported, so that a burst of load
from other processes on a shared machine does not land on one side only.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from store import FIELDS, raw_loop, store_decrypt_scan, synthetic

from api.wiring import init_store
from core.config import load_settings
from policies.decider import build_enforcer


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeat", type=int, default=3, help="alternate runs of each scan; best is kept")
    args = parser.parse_args()
    n = 10_000 if args.quick else args.customers
    rows = synthetic(n)
    _, raw_dec = raw_loop(rows)
    with tempfile.TemporaryDirectory() as tmp:
        hush = init_store(load_settings(Path(tmp) / "data", env={}))
        ctx = hush.context("alice", "service")
        hush.writes.import_customers(ctx, rows)
        governed = store_scan = 0.0
        for _ in range(max(1, args.repeat)):
            t0 = time.perf_counter()
            got = sum(1 for _ in hush.gateway.scan_customers(ctx, fields=list(FIELDS), batch_size=2000))
            governed = max(governed, got / (time.perf_counter() - t0))
            t0 = time.perf_counter()
            scanned = store_decrypt_scan(hush)
            store_scan = max(store_scan, scanned / (time.perf_counter() - t0))
            assert got == scanned == n, (got, scanned, n)
        enforcer = build_enforcer(hush.policies.current.policy)
        sample = min(n, 5_000)
        t0 = time.perf_counter()
        for _ in range(sample):
            for f in FIELDS:
                enforcer.enforce_ex("sales", "service", "customer", f, "read")
        naive_policy_only = sample / (time.perf_counter() - t0)
        hush.close()
    print(f"customers: {n}, fields: {len(FIELDS)}; best of {max(1, args.repeat)} alternating runs")
    print(f"raw AES-GCM decrypt loop (no database): {raw_dec:,.0f} rows/s")
    print(f"store decrypt-scan of bench/store.py:   {store_scan:,.0f} rows/s (ungoverned baseline)")
    print(
        f"governed read (gateway): {governed:,.0f} rows/s = {governed / store_scan:.0%} of the store "
        f"decrypt-scan (target >= 50%); {governed / raw_dec:.0%} of the raw loop"
    )
    print(
        f"naive per-row x per-field enforce (policy calls alone, {sample} rows): {naive_policy_only:,.0f} rows/s; "
        f"gateway is {governed / naive_policy_only:.1f}x faster even before the naive loop decrypts anything"
    )


if __name__ == "__main__":
    main()
