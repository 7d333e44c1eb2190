"""Benchmark: import and decrypt-scan N synthetic customers vs. a raw AES-GCM loop.

The raw loop does the same cryptographic work per customer as the store
(generate a data key, wrap it, encrypt five fields; unwrap it, decrypt five
fields) with no database.  Targets (issue 2): scan >= 40% and import >= 20% of
the raw loop's rows/s.

    .venv/bin/python bench/store.py [--customers N] [--quick]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from api.wiring import Hush, init_store
from core.config import load_settings
from core.crypto import ColumnsDecryptor, associated_data
from core.prepare_pool import default_workers
from core.records import CustomerInput

FIELDS = ("full_name", "email", "phone", "postal_address", "birth_date")


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def synthetic(n: int) -> list[tuple[int, CustomerInput]]:
    return [
        (
            i,
            CustomerInput(
                external_id=f"B{i:07d}",
                full_name=f"Customer Number {i}",
                owner="alice",
                email=f"customer{i}@example.com",
                phone=f"+44 7700 {900000 + i % 100000:06d}",
                postal_address=f"{i % 200 + 1} High Street, London SW1A 1AA",
                consent_marketing_post=True,
            ),
        )
        for i in range(n)
    ]


RAW_CPU: list[float] = []
"""CPU seconds per row of each raw encrypt loop run (for the CPU figures)."""


def raw_loop(rows: list[tuple[int, CustomerInput]]) -> tuple[float, float]:
    kek = AESGCM(os.urandom(32))
    sealed = []
    c0 = time.process_time()
    t0 = time.perf_counter()
    for i, c in rows:
        cid = f"{i:036d}"
        dek = os.urandom(32)
        n0 = os.urandom(12)
        wrapped = n0 + kek.encrypt(n0, dek, associated_data("customer_keys", "wrapped_key", cid, 1))
        aead = AESGCM(dek)
        cts = []
        for f in FIELDS:
            value = getattr(c, f)
            v = (value.isoformat() if hasattr(value, "isoformat") else value or "1970-01-01").encode()
            nonce = os.urandom(12)
            cts.append(nonce + aead.encrypt(nonce, v, associated_data("customers", f, cid, 1)))
        sealed.append((cid, wrapped, cts))
    t_enc = time.perf_counter() - t0
    RAW_CPU.append((time.process_time() - c0) / len(rows))
    t0 = time.perf_counter()
    for cid, wrapped, cts in sealed:
        dek = kek.decrypt(wrapped[:12], wrapped[12:], associated_data("customer_keys", "wrapped_key", cid, 1))
        aead = AESGCM(dek)
        for f, ct in zip(FIELDS, cts, strict=True):
            aead.decrypt(ct[:12], ct[12:], associated_data("customers", f, cid, 1)).decode()
    t_dec = time.perf_counter() - t0
    return len(rows) / t_enc, len(rows) / t_dec


def store_decrypt_scan(hush: Hush, batch: int = 2000) -> int:
    """The store's own decrypt-scan: SQL over the ciphertexts, unwrap, decrypt five fields.

    No policy, masking or audit: the ungoverned baseline that bench/governed.py
    compares the gateway with.  Bench-only code (like the tests' private
    helpers); nothing in hushdb exposes plaintext this way.
    """
    decrypt = ColumnsDecryptor("customers", FIELDS)
    unwrap = hush.keyring.unwrap
    cols = ", ".join(f"c.{f}_ct" for f in FIELDS)
    sql = (
        f"SELECT c.id, k.wrapped_key, k.kek_version, {cols} FROM customers c "
        "JOIN keystore.customer_keys k ON k.customer_id = c.id WHERE c.erased_at IS NULL"
    )
    count = 0
    with hush.engine.connect() as conn:
        result = conn.exec_driver_sql(sql)
        while rows := result.fetchmany(batch):
            for r in rows:
                decrypt(unwrap(r[0], r[1], r[2]), r[0], r[3:])
            count += len(rows)
    return count


def screen_cost(rows: list[tuple[int, CustomerInput]]) -> float:
    """CPU seconds per customer of the import screen (terms on the skeleton, exemptions, shape; issue 12)."""
    from core.pii.screen import CustomerFieldScreen

    screen = CustomerFieldScreen()
    values = [{"full_name": c.full_name, "postal_address": c.postal_address or ""} for _, c in rows]
    screen.screen_fields({"full_name": "Warm Up", "postal_address": "1 Elm Road, Leeds LS1 1AA"})
    t0 = time.process_time()
    for value in values:
        screen.screen_fields(value)
    return (time.process_time() - t0) / len(values)


_GIVEN = "Zoë José Mária Łukasz Søren Ana Chloé Jürgen Ines Noël Renée Björn Iñaki Zdeněk Ayşe Olivia".split()
_FAMILY = "Müller Núñez García Kowalski Dvořák Lefèvre O’Brien Öztürk Nilsson Schäfer Rossi Brown".split()
_STREETS = "Hauptstraße|Calle Mayor|Rue de l’Église|ul. Świętokrzyska|Via Roma|Mill Lane|Ringvägen".split("|")
_TOWNS = "München|Córdoba|Besançon|Kraków|Roma|Leeds|Malmö|Zürich|São Paulo|Reykjavík".split("|")


def accented_values(n: int) -> list[dict[str, str]]:
    """Names and addresses in Latin script with accents (the slow path of issue 12), all distinct."""
    g, f, s, t = len(_GIVEN), len(_FAMILY), len(_STREETS), len(_TOWNS)
    return [
        {
            "full_name": f"{_GIVEN[i % g]} {_FAMILY[(i // g) % f]}-{_FAMILY[(i // 7) % f]}",
            "postal_address": f"{_STREETS[i % s]} {i % 997 + 1}, {i % 90000 + 10000} {_TOWNS[(i // s) % t]}",
        }
        for i in range(n)
    ]


def accented_screen_cost(n: int) -> float:
    """CPU seconds per customer of the import screen over accented names and addresses."""
    from core.pii.screen import CustomerFieldScreen

    screen = CustomerFieldScreen()
    values = accented_values(n)
    screen.screen_fields(values[0])
    t0 = time.process_time()
    for value in values:
        screen.screen_fields(value)
    return (time.process_time() - t0) / len(values)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    n = 10_000 if args.quick else args.customers
    rows = synthetic(n)
    before = raw_loop(rows)
    with tempfile.TemporaryDirectory() as tmp:
        env = {"HUSHDB_DATABASE_URL": args.database_url} if args.database_url else {}
        hush = init_store(load_settings(Path(tmp) / "data", env=env))
        ctx = hush.context("alice", "service")
        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        cpu0, child0 = _cpu(resource.RUSAGE_SELF), _cpu(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        report = hush.writes.import_customers(ctx, rows)
        t_import = time.perf_counter() - t0
        cpu_import, cpu_workers = _cpu(resource.RUSAGE_SELF) - cpu0, _cpu(resource.RUSAGE_CHILDREN) - child0
        peak_import = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        peak_worker = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        assert report.imported == n, report.rejected[:3]
        t0 = time.perf_counter()
        count = sum(
            1 for _ in hush.gateway.scan_customers(ctx, fields=["external_id", *FIELDS], batch_size=2000)
        )
        t_scan = time.perf_counter() - t0
        peak_scan = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        assert count == n
        t0 = time.perf_counter()
        assert store_decrypt_scan(hush) == n
        t_store_scan = time.perf_counter() - t0
        hush.close()
    # The baseline is measured before and after the store's runs and the faster one kept: on a
    # shared machine a load that comes or goes mid-run then lowers the ratios instead of raising them.
    after = raw_loop(rows)
    raw_enc, raw_dec = max(before[0], after[0]), max(before[1], after[1])
    imp, scan, store_scan = n / t_import, n / t_scan, n / t_store_scan
    print(f"customers: {n}")
    print(
        f"raw AES-GCM loop: encrypt {raw_enc:,.0f} rows/s, decrypt {raw_dec:,.0f} rows/s"
        f"  (faster of before/after: encrypt {before[0]:,.0f}/{after[0]:,.0f})"
    )
    print(
        f"import:  {imp:,.0f} rows/s  = {imp / raw_enc:.0%} of raw encrypt (target >= 20%)  peak RSS {peak_import / 1024:.0f} MiB"
        f" (+ worker {peak_worker / 1024:.0f} MiB)"
    )
    print(
        f"         CPU per row: {cpu_import / n * 1e6:.0f} us in this process + {cpu_workers / n * 1e6:.0f} us in"
        f" {default_workers()} prepare worker(s); the raw loop uses one core"
        f" ({min(RAW_CPU) * 1e6:.0f} us per row: CPU ratio {min(RAW_CPU) * n / (cpu_import + cpu_workers):.0%})"
    )
    print(
        f"decrypt-scan (store, ungoverned): {store_scan:,.0f} rows/s = {store_scan / raw_dec:.0%} of raw decrypt (target >= 40%)"
    )
    print(
        f"decrypt-scan (gateway, governed): {scan:,.0f} rows/s = {scan / raw_dec:.0%} of raw decrypt  peak RSS {peak_scan / 1024:.0f} MiB (before import {rss0 / 1024:.0f} MiB)"
    )
    print("(governed = policy plan, row filter in SQL, decrypt, mask, one committed audit event per batch)")
    per = screen_cost(rows[:5_000])
    print(f"screen: {per * 1e6:.1f} us CPU per customer (name and address: terms, exemptions, shape)")
    accented = accented_screen_cost(5_000)
    print(f"screen: {accented * 1e6:.1f} us CPU per customer with accented names and addresses")


if __name__ == "__main__":
    main()
