"""Opening a store does only what the command needs (api.wiring).

* The schema check reads the newest revision from the migration files; Alembic runs
  only when the database is behind (or the files cannot be read for sure).
* Writes, notes and the customer-field screen are built on first use, and then they
  behave as before: the notes service installs the known records on the gateway's
  note analysis.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory

from api import wiring
from api.wiring import Hush, open_store
from core.config import Settings
from core.db import MIGRATIONS_DIR, alembic_config


def test_the_head_read_from_the_files_is_alembics_head(hush: Hush) -> None:
    script = ScriptDirectory.from_config(alembic_config(hush.engine))
    assert wiring._migration_head() == script.get_current_head()
    assert (MIGRATIONS_DIR / "versions").is_dir()


def test_a_current_schema_skips_alembic_and_an_old_one_is_migrated(
    hush: Hush, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert wiring._schema_is_current(hush.engine)
    head = wiring._migration_head()
    script = ScriptDirectory.from_config(alembic_config(hush.engine))
    previous = script.get_revision(head).down_revision
    assert isinstance(previous, str)
    with hush.engine.begin() as conn:  # pretend the newest migration has not run (its tables stay)
        conn.execute(sa.text("UPDATE alembic_version SET version_num = :v"), {"v": previous})
    assert not wiring._schema_is_current(hush.engine)
    calls: list[object] = []

    def spy(engine: sa.Engine) -> None:
        calls.append(engine)
        with engine.begin() as conn:  # the newest migration's tables exist already: only stamp it
            conn.execute(sa.text("UPDATE alembic_version SET version_num = :v"), {"v": head})

    monkeypatch.setattr(wiring, "migrate", spy)
    open_store(settings).close()
    assert len(calls) == 1, "a database behind the newest revision is migrated"
    assert wiring._schema_is_current(hush.engine)
    open_store(settings).close()  # a current one is not
    assert len(calls) == 1


def test_no_version_table_means_not_current() -> None:
    engine = sa.create_engine("sqlite://")
    try:
        assert not wiring._schema_is_current(engine)
    finally:
        engine.dispose()


def test_writes_notes_and_screen_are_built_on_first_use(hush: Hush) -> None:
    from core.notes import KnownRecordsCache, NoteService, PiiNoteText
    from core.writes import CustomerWrites

    assert hush._writes is None
    writes = hush.writes
    assert isinstance(writes, CustomerWrites) and hush.writes is writes  # built once
    note_text = hush.gateway.note_text
    assert note_text is not None and not isinstance(note_text, PiiNoteText)
    version = note_text.version  # the first use builds the notes subsystem ...
    notes = hush.notes
    assert isinstance(notes, NoteService) and hush.notes is notes
    real = hush.gateway.note_text
    assert isinstance(real, PiiNoteText) and real.version == version
    assert isinstance(getattr(real, "_known", None), KnownRecordsCache)  # ... with the known records
