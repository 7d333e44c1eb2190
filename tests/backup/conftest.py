"""Helpers for backup and restore tests: a populated store, the CLI, losing the data."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner, Result

from api.cli import app
from api.wiring import Hush, init_store, open_store
from core.config import Settings
from core.models import customers_t
from core.records import CustomerInput


@dataclass
class Store:
    settings: Settings
    tmp: Path

    @property
    def env(self) -> dict[str, str]:
        return {
            "HUSHDB_DATABASE_URL": self.settings.database_url,
            "HUSHDB_CHECKPOINT_EVERY": str(self.settings.checkpoint_every),
            "HUSHDB_HOME": str(self.settings.data_dir),
        }

    def cli(self, *args: str) -> Result:
        return CliRunner().invoke(app, [*args, "--data-dir", str(self.settings.data_dir)], env=self.env)

    def open(self) -> Hush:
        return open_store(self.settings)

    def add(self, start: int, n: int) -> None:
        hush = self.open()
        try:
            ctx = hush.context("alice", "service")
            rows = [
                (
                    i,
                    CustomerInput(
                        external_id=f"R{i}", full_name=f"Person {i}", owner="alice", email=f"p{i}@example.com"
                    ),
                )
                for i in range(start, start + n)
            ]
            report = hush.writes.import_customers(ctx, rows)
            assert report.imported == n, report.rejected
        finally:
            hush.close()

    def erase(self, external_id: str) -> None:
        hush = self.open()
        try:
            hush.writes.erase(hush.context("dana", "erasure"), external_id)
        finally:
            hush.close()

    def readable(self) -> dict[str, str]:
        """external_id -> decrypted full name of every customer the gateway returns (erased ones are skipped)."""
        hush = self.open()
        try:
            ctx = hush.context("alice", "service")
            return {r.external_id: str(r.values["full_name"]) for r in hush.gateway.scan_customers(ctx)}
        finally:
            hush.close()

    def erased(self) -> set[str]:
        engine = sa.create_engine(self.settings.database_url)
        try:
            with engine.connect() as conn:
                rows = conn.execute(
                    sa.select(customers_t.c.external_id, customers_t.c.full_name_ct).where(
                        customers_t.c.erased_at.is_not(None)
                    )
                ).all()
        finally:
            engine.dispose()
        assert all(r.full_name_ct is None for r in rows)  # an erased row holds no ciphertext
        return {str(r.external_id) for r in rows}

    def lose_data(self) -> None:
        """The data is gone; the key file, the signing key and the key store are kept."""
        url = self.settings.database_url
        if url.startswith("sqlite"):
            db = Path(sa.make_url(url).database or "")
            for suffix in ("", "-wal", "-shm"):
                Path(f"{db}{suffix}").unlink(missing_ok=True)
            return
        engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql("DROP SCHEMA public CASCADE")
                conn.exec_driver_sql("CREATE SCHEMA public")
        finally:
            engine.dispose()

    def fingerprint_of_data(self) -> tuple[int, int, str]:
        """(customers, audit head seq, audit head hash): changes whenever the data does."""
        engine = sa.create_engine(self.settings.database_url)
        try:
            with engine.connect() as conn:
                n = int(conn.exec_driver_sql("SELECT count(*) FROM customers").scalar() or 0)
                head = conn.exec_driver_sql("SELECT seq, hash FROM audit_head WHERE id = 1").one()
        finally:
            engine.dispose()
        return n, int(head[0]), str(head[1])


@pytest.fixture
def store(settings: Settings, tmp_path: Path) -> Store:
    hush = init_store(settings)
    hush.close()
    s = Store(settings=settings, tmp=tmp_path)
    s.add(0, 12)
    return s


def one_line(result: Result) -> str:
    """The error output must be exactly one line."""
    text = (result.stderr if result.stderr_bytes is not None else result.output).strip()
    assert text.count("\n") == 0, text
    return text
