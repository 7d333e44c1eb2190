"""Shared fixtures: a fresh, migrated database per test on SQLite and PostgreSQL.

The suite always runs on SQLite.  When ``HUSHDB_TEST_PG_URL`` names a
PostgreSQL server, every database test runs a second time on a database that
the fixture creates and drops.  With ``CI=true`` an unreachable server fails
the run instead of skipping.
"""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from core.config import Settings, load_settings, pg_test_url, running_in_ci
from core.db import create_db_engine, migrate

BACKENDS = ["sqlite", "postgresql"]


def _pg_server_url() -> str | None:
    return pg_test_url()


@pytest.fixture(scope="session")
def pg_admin_engine() -> Iterator[Engine | None]:
    url = _pg_server_url()
    if url is None:
        yield None
        return
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        engine.dispose()
        if running_in_ci():
            pytest.fail(f"CI=true but PostgreSQL at HUSHDB_TEST_PG_URL is unreachable: {exc}")
        yield None
        return
    yield engine
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, pg_admin_engine: Engine | None
) -> Iterator[str]:
    """A URL of a fresh, empty database, dropped after the test."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'hushdb.sqlite3'}"
        return
    if pg_admin_engine is None:
        if running_in_ci():
            pytest.fail("CI=true requires HUSHDB_TEST_PG_URL for the PostgreSQL run")
        pytest.skip("PostgreSQL not configured (set HUSHDB_TEST_PG_URL)")
    name = f"hushdb_test_{uuid.uuid4().hex[:12]}"
    with pg_admin_engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = make_url(str(pg_admin_engine.url)).set(database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with pg_admin_engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """A migrated Engine on a fresh database (SQLite and PostgreSQL)."""
    eng = create_db_engine(database_url)
    migrate(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    d = tmp_path / "data"
    d.mkdir(mode=0o700)
    return d


@pytest.fixture
def settings(data_dir: Path, database_url: str) -> Settings:
    """Settings on a temporary data directory and the parametrized database."""
    env = {"HUSHDB_DATABASE_URL": database_url, "HUSHDB_CHECKPOINT_EVERY": "50"}
    return load_settings(data_dir, env=env)


def random_master_key_b64() -> str:
    return base64.b64encode(os.urandom(32)).decode()


@pytest.fixture
def hush(settings: Settings) -> Iterator[object]:
    """A fully wired, initialised store (key file, signing key, schema) on the test database."""
    from api.wiring import init_store

    h = init_store(settings)
    yield h
    h.close()
