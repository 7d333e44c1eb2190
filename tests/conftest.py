"""Shared fixtures: a fresh, migrated database per test on SQLite and PostgreSQL.

The suite always runs on SQLite.  When ``HUSHDB_TEST_PG_URL`` names a
PostgreSQL server, every database test runs a second time on an empty database
of its own.  With ``CI=true`` an unreachable server fails the run instead of
skipping.

Each test worker keeps its PostgreSQL databases in a small pool: a database a
test has finished with is emptied (its sessions ended, every schema dropped, an
empty ``public`` schema with PostgreSQL's default owner and grants created) and
handed to the next test.  CREATE and DROP DATABASE each force a checkpoint,
about 0.8 s per test on this machine, where emptying takes about 0.1 s.  A
database that cannot be emptied is dropped instead; the pool is dropped at the
end of the session.

Temporary files (SQLite databases, key files, letters) go to a RAM file system
(``/dev/shm``) when the machine has one with room, in a directory of this run's
own that is removed when it ends: on this machine's disk creating a file took
about 0.5 ms and the export tests ran 40 % faster in RAM.  ``--basetemp`` on the
command line wins; without a RAM file system pytest's default is kept.
"""

from __future__ import annotations

import base64
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from core.config import Settings, load_settings, pg_test_url, running_in_ci
from core.db import create_db_engine, migrate

BACKENDS = ["sqlite", "postgresql"]
_RAM_TMP = Path("/dev/shm")
_RAM_TMP_MIN_FREE = 4 << 30  # bytes: a container's small default /dev/shm is not used


def pytest_configure(config: pytest.Config) -> None:
    """This run's temporary files on a RAM file system when there is one with room (see above)."""
    if config.option.basetemp is not None or hasattr(config, "workerinput"):
        return  # given on the command line, or a pytest-xdist worker (under the controller's)
    try:
        stat = os.statvfs(_RAM_TMP)
    except OSError:
        return
    if stat.f_bavail * stat.f_frsize < _RAM_TMP_MIN_FREE or not os.access(_RAM_TMP, os.W_OK | os.X_OK):
        return
    base = tempfile.mkdtemp(prefix="hushdb-pytest-", dir=_RAM_TMP)
    config.option.basetemp = base
    config.add_cleanup(lambda: shutil.rmtree(base, ignore_errors=True))


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


class PgDatabasePool:
    """Empty PostgreSQL databases for tests, reused instead of created and dropped per test."""

    def __init__(self, admin: Engine) -> None:
        self._admin = admin
        self._free: list[str] = []
        self._all: set[str] = set()

    def url_of(self, name: str) -> str:
        return make_url(str(self._admin.url)).set(database=name).render_as_string(hide_password=False)

    def acquire(self) -> str:
        if self._free:
            return self._free.pop()
        name = f"hushdb_test_{uuid.uuid4().hex[:12]}"
        with self._admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        self._all.add(name)
        return name

    def release(self, name: str) -> None:
        """Empty ``name`` for the next test, or drop it when that fails."""
        try:
            self._empty(name)
        except sa.exc.SQLAlchemyError:
            self._drop(name)
        else:
            self._free.append(name)

    def _empty(self, name: str) -> None:
        with self._admin.connect() as conn:
            conn.execute(
                sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :d"),
                {"d": name},
            )
        engine = sa.create_engine(self.url_of(name), isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
        try:
            with engine.connect() as conn:
                schemas = conn.execute(
                    sa.text(
                        "SELECT nspname FROM pg_namespace "
                        "WHERE nspname <> 'information_schema' AND nspname NOT LIKE 'pg\\_%'"
                    )
                ).scalars()
                for schema in list(schemas):
                    conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
                conn.execute(sa.text("CREATE SCHEMA public AUTHORIZATION pg_database_owner"))
                conn.execute(sa.text("GRANT USAGE ON SCHEMA public TO PUBLIC"))
                left = conn.execute(
                    sa.text(
                        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                        "WHERE n.nspname = 'public'"
                    )
                ).scalar()
                if left:
                    raise sa.exc.InvalidRequestError(f"{name} is not empty after the reset")
        finally:
            engine.dispose()

    def _drop(self, name: str) -> None:
        with self._admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self._all.discard(name)

    def close(self) -> None:
        for name in list(self._all):
            self._drop(name)


@pytest.fixture(scope="session")
def pg_pool(pg_admin_engine: Engine | None) -> Iterator[PgDatabasePool | None]:
    if pg_admin_engine is None:
        yield None
        return
    pool = PgDatabasePool(pg_admin_engine)
    yield pool
    pool.close()


@pytest.fixture(params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, pg_pool: PgDatabasePool | None
) -> Iterator[str]:
    """A URL of an empty database of this test's own (see the module's note on the pool)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'hushdb.sqlite3'}"
        return
    if pg_pool is None:
        if running_in_ci():
            pytest.fail("CI=true requires HUSHDB_TEST_PG_URL for the PostgreSQL run")
        pytest.skip("PostgreSQL not configured (set HUSHDB_TEST_PG_URL)")
    name = pg_pool.acquire()
    try:
        yield pg_pool.url_of(name)
    finally:
        pg_pool.release(name)


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
