"""The composition root: the one place that builds hushdb's objects.

Both front doors (the ``hushdb`` CLI and the HTTP app factory) call
:func:`open_store` or :func:`init_store` and get a :class:`Hush` with every
collaborator wired; nothing else constructs engines, key rings or gateways.
"""

from __future__ import annotations

import ast
import dataclasses
import getpass
import os
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

if TYPE_CHECKING:
    from core.notes import NoteService, PiiNoteText
    from core.pii.engine import PiiEngine
    from core.pii.screen import CustomerFieldScreen
    from core.writes import CustomerWrites

from audit.checkpoints import JsonlCheckpointSink
from audit.events import AuditEvent
from audit.log import AuditLog
from audit.signing import Ed25519Signer, load_or_create_signer, load_signer
from core.config import Settings
from core.db import MIGRATIONS_DIR, create_db_engine, migrate, transaction
from core.errors import ConfigError, PolicyError, StoreError
from core.gateway import OPERATOR_ROLE, AccessContext, Gateway, NoteText
from core.keys import FileKeyProvider, KeyProvider, KeyRing, open_key_provider
from core.keystore import finish_migration
from core.models import meta_t
from core.store import CustomerStore
from policies.holder import PolicyHolder


class _NotesOnFirstUse:
    """The notes subsystem, built once on first use: the gateway's note analysis
    (:class:`core.notes.PiiNoteText`, which re-analyses stale notes with the known records)
    and the :class:`core.notes.NoteService` over it.  A command that touches no note never
    imports it (``hushdb audit verify`` starts faster)."""

    def __init__(self, settings: Settings, keyring: KeyRing, pii: Callable[[], PiiEngine]) -> None:
        self._settings = settings
        self._keyring = keyring
        self._pii = pii
        self._lock = threading.Lock()
        self._built: tuple[PiiNoteText, NoteService] | None = None
        self.gateway: Gateway | None = None

    def build(self) -> tuple[PiiNoteText, NoteService]:
        built = self._built
        if built is not None:
            return built
        with self._lock:
            if self._built is None:
                from core.notes import KnownRecordsCache, NoteService, PiiNoteText

                gateway = self.gateway
                assert gateway is not None, "the gateway is wired before its first read"
                text = PiiNoteText(engine=self._pii, hash_key=self._keyring.mask_hash_key)
                gateway.note_text = text  # NoteService installs the known records on it
                notes = NoteService(
                    gateway=gateway,
                    engine=self._pii,
                    max_bytes=self._settings.note_max_bytes,
                    known=KnownRecordsCache(gateway=gateway),
                )
                self._built = (text, notes)
            return self._built


class _NoteTextOnFirstUse:
    """Implements :class:`core.gateway.NoteText` by building the notes subsystem on first use."""

    def __init__(self, notes: _NotesOnFirstUse) -> None:
        self._notes = notes

    @property
    def version(self) -> str:
        return self._notes.build()[0].version

    def analyse(self, text: str) -> tuple[str, str]:
        return self._notes.build()[0].analyse(text)

    def mask(self, text: str, analysis_json: str) -> str | None:
        return self._notes.build()[0].mask(text, analysis_json)

    def scoped(self, analysis_json: str, visible: Callable[[str, frozenset[str]], bool]) -> tuple[str, str]:
        return self._notes.build()[0].scoped(analysis_json, visible)


@dataclass
class Hush:
    """Everything a front door needs, built once per process (writes and notes on first use)."""

    settings: Settings
    engine: Engine
    keyring: KeyRing
    policies: PolicyHolder
    audit: AuditLog
    signer: Ed25519Signer
    gateway: Gateway
    pii: Callable[[], PiiEngine]
    """The shared PII engine, created (and its models loaded) on first call."""
    _notes: _NotesOnFirstUse
    channel: str = "system"
    """How this process's accesses come in (``cli``, ``http``, ``system``): recorded in every event."""
    os_user: str = ""
    """The operating-system user of a CLI process (recorded in every event), else empty."""
    _writes: CustomerWrites | None = dataclasses.field(default=None, repr=False)
    _lock: threading.Lock = dataclasses.field(default_factory=threading.Lock, repr=False)

    @property
    def writes(self) -> CustomerWrites:
        """Governed writes: imports, updates, erasure, key rotation (built on first use)."""
        writes = self._writes
        if writes is None:
            with self._lock:
                if self._writes is None:
                    from core.writes import CustomerWrites

                    self._writes = CustomerWrites(
                        gateway=self.gateway,
                        keystore_backup_retention_days=self.settings.keystore_backup_retention_days,
                        exports_dir=self.settings.exports_dir,
                    )
                writes = self._writes
        return writes

    @property
    def notes(self) -> NoteService:
        """Notes: analysed once on write (built on first use)."""
        return self._notes.build()[1]

    def context(self, subject: str, purpose: str, request_id: str | None = None) -> AccessContext:
        """An AccessContext for ``subject``; roles come from the policy files (unknown ⇒ refused)."""
        roles = self.policies.current.roles_for(subject)
        ctx = AccessContext(
            subject=subject, roles=roles, purpose=purpose, channel=self.channel, os_user=self.os_user
        )
        return dataclasses.replace(ctx, request_id=request_id) if request_id else ctx

    def operator_context(self, purpose: str = "compliance") -> AccessContext:
        """The local operator, who holds the key file: audited as ``operator:<user>``."""
        try:
            user = getpass.getuser()
        except (KeyError, OSError):
            user = str(os.getuid())
        return AccessContext(
            subject=f"operator:{user}",
            roles=frozenset({OPERATOR_ROLE}),
            purpose=purpose,
            channel=self.channel,
            os_user=self.os_user,
        )

    def close(self) -> None:
        """Sign a checkpoint over the newest events (so a truncated tail is detectable) and publish it."""
        try:
            with self.engine.begin() as conn:
                self.audit.checkpoint(conn)
            self.audit.publish_checkpoints(self.engine, force=True)
        finally:
            self.engine.dispose()


def _ensure_data_dir(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)


class _FieldScreenOnFirstUse:
    """:class:`core.pii.screen.CustomerFieldScreen`, built (its term tables compiled) on the first
    write that screens a name or an address, not when a command that writes none opens the store."""

    def __init__(self) -> None:
        self._screen: CustomerFieldScreen | None = None
        self._lock = threading.Lock()

    def screen_fields(self, values: Mapping[str, str]) -> tuple[str, bytes | None]:
        screen = self._screen
        if screen is None:
            with self._lock:
                if self._screen is None:
                    from core.pii.screen import CustomerFieldScreen

                    self._screen = CustomerFieldScreen()
                screen = self._screen
        return screen.screen_fields(values)


# A module-level line that names a revision: ``revision = "..."`` or ``down_revision = ...``.
_REVISION_LINE = re.compile(r"^(?:revision|down_revision)\b[^\n]*", re.MULTILINE)


def _revision_ids(text: str) -> tuple[str, object] | None:
    """``(revision, down_revision)`` of one migration file, or None when it cannot be told for sure.

    Only the two assignment lines are parsed (ast on a whole file costs ~3 ms a migration): each name
    must be assigned exactly once, on one line at the start of a line, to a literal.  Anything else
    (a multi-line tuple, a second assignment, such a line inside a docstring) gives None.
    """
    found: dict[str, object] = {}
    for match in _REVISION_LINE.finditer(text):
        try:
            tree = ast.parse(match.group(0))
        except (SyntaxError, ValueError):
            return None
        if len(tree.body) != 1:
            return None
        node = tree.body[0]
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            return None
        if not isinstance(target, ast.Name) or target.id in found:
            return None
        try:
            found[target.id] = ast.literal_eval(value)
        except ValueError:
            return None
    revision = found.get("revision")
    if not isinstance(revision, str) or "down_revision" not in found:
        return None
    return revision, found["down_revision"]


def _head_of(versions_dir: Path) -> str | None:
    """The newest revision of the migration files in ``versions_dir`` (no Alembic import).

    None when it cannot be told for sure (no single head, a file whose revision lines are not
    plain one-line literals): the caller then lets Alembic decide.
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in sorted(versions_dir.glob("*.py")):
        try:
            ids = _revision_ids(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if ids is None:
            return None
        revision, down = ids
        revisions.add(revision)
        if isinstance(down, str):
            parents.add(down)
        elif isinstance(down, tuple | list):
            parents.update(str(d) for d in down)
        elif down is not None:
            return None
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


@cache
def _migration_head() -> str | None:
    """The newest revision of core/migrations (see :func:`_head_of`)."""
    return _head_of(MIGRATIONS_DIR / "versions")


def _schema_is_current(engine: Engine) -> bool:
    """Whether the database is at the newest revision already (then Alembic need not load)."""
    head = _migration_head()
    if head is None:
        return False
    try:
        with engine.connect() as conn:
            versions: list[object] = list(
                conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalars()
            )
    except SQLAlchemyError:  # a new database: no version table yet
        return False
    return versions == [head]


def _migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision; Alembic runs only when there is something to do."""
    if not _schema_is_current(engine):
        migrate(engine)
        return
    try:
        finish_migration(engine)  # what migrate() does after upgrading (SQLite: the key store move)
    except SQLAlchemyError as exc:
        raise StoreError(f"database migration failed: {type(exc).__name__}") from exc


def _build(settings: Settings, provider: KeyProvider, signing: Ed25519Signer) -> Hush:
    engine = create_db_engine(settings.database_url)
    try:
        _migrate(engine)
        keyring = KeyRing(provider)
        store = CustomerStore(
            keyring=keyring, phone_region=settings.phone_region, screen=_FieldScreenOnFirstUse()
        )
        with transaction(engine) as conn:
            store.bind_keys(conn)
    except BaseException:
        engine.dispose()
        raise
    audit = AuditLog(
        signer=signing,
        checkpoint_sink=JsonlCheckpointSink(settings.checkpoints_path),
        checkpoint_every=settings.checkpoint_every,
    )
    try:
        policies = PolicyHolder.load(settings.policy_dir)
    except PolicyError as exc:
        _audit_policy(engine, audit, "policy_load_failed", "error", {"reason": type(exc).__name__})
        engine.dispose()
        raise
    _audit_policy_hash(engine, audit, policies.policy_hash)

    def pii() -> PiiEngine:
        from core.pii.engine import PiiEngine  # spaCy and Presidio load on first use only

        return PiiEngine.create(spacy_model=settings.spacy_model, zh_model=settings.zh_ner_model)

    notes = _NotesOnFirstUse(settings, keyring, pii)
    note_text: NoteText = _NoteTextOnFirstUse(notes)
    gateway = Gateway(
        engine=engine, store=store, policies=policies, audit=audit, keyring=keyring, note_text=note_text
    )
    notes.gateway = gateway
    return Hush(
        settings=settings,
        engine=engine,
        keyring=keyring,
        policies=policies,
        audit=audit,
        signer=signing,
        gateway=gateway,
        pii=pii,
        _notes=notes,
    )


def _audit_policy(
    engine: Engine, audit: AuditLog, action: str, decision: str, detail: dict[str, str | int | bool | None]
) -> None:
    with transaction(engine) as conn:
        audit.append(
            conn,
            AuditEvent(
                subject="hushdb",
                roles=("system",),
                purpose="compliance",
                action=action,
                resource="admin",
                fields=("policy",),
                decision=decision,
                detail=detail,
            ),
        )


def _audit_policy_hash(engine: Engine, audit: AuditLog, policy_hash: str) -> None:
    """Audit the loaded policy's hash whenever it differs from the last one recorded."""
    with transaction(engine) as conn:
        last = conn.execute(sa.select(meta_t.c.value).where(meta_t.c.key == "policy_hash")).scalar()
        if last == policy_hash:
            return
        if last is None:
            conn.execute(sa.insert(meta_t).values(key="policy_hash", value=policy_hash))
        else:
            conn.execute(sa.update(meta_t).where(meta_t.c.key == "policy_hash").values(value=policy_hash))
        audit.append(
            conn,
            AuditEvent(
                subject="hushdb",
                roles=("system",),
                purpose="compliance",
                action="policy_load",
                resource="admin",
                fields=("policy",),
                decision="allow",
                detail={"policy_hash": policy_hash, "previous_hash": last},
            ),
        )


def init_store(settings: Settings) -> Hush:
    """Create the data directory, the key file and the audit signing key, and migrate."""
    _ensure_data_dir(settings.data_dir)
    src = settings.key_source
    if src.kind == "file":
        assert src.path is not None
        provider: KeyProvider = (
            FileKeyProvider(src.path) if src.path.exists() else FileKeyProvider.create(src.path)
        )
    else:
        provider = open_key_provider(src)
    path = settings.signing_key_path
    signing = load_or_create_signer(path)
    return _build(settings, provider, signing)


def open_store(settings: Settings) -> Hush:
    """Open an initialised store; a missing key file or data directory is a clear error."""
    if settings.key_source.kind == "file" and not settings.data_dir.exists():
        raise ConfigError(f"data directory {settings.data_dir} does not exist (run `hushdb init`)")
    provider = open_key_provider(settings.key_source)
    signing = load_signer(settings.signing_key_path)
    return _build(settings, provider, signing)


__all__ = ["Hush", "init_store", "open_store"]
