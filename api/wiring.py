"""The composition root: the one place that builds hushdb's objects.

Both front doors (the ``hushdb`` CLI and the HTTP app factory) call
:func:`open_store` or :func:`init_store` and get a :class:`Hush` with every
collaborator wired; nothing else constructs engines, key rings or gateways.
"""

from __future__ import annotations

import dataclasses
import getpass
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Engine

if TYPE_CHECKING:
    from core.pii.engine import PiiEngine

from audit.checkpoints import JsonlCheckpointSink
from audit.events import AuditEvent
from audit.log import AuditLog
from audit.signing import Ed25519Signer, load_or_create_signer, load_signer
from core.config import Settings
from core.db import create_db_engine, migrate, transaction
from core.errors import ConfigError, PolicyError
from core.gateway import OPERATOR_ROLE, AccessContext, Gateway
from core.keys import FileKeyProvider, KeyProvider, KeyRing, open_key_provider
from core.models import meta_t
from core.notes import KnownRecordsCache, NoteService, PiiNoteText
from core.pii.screen import CustomerFieldScreen
from core.store import CustomerStore
from core.writes import CustomerWrites
from policies.holder import PolicyHolder


@dataclass
class Hush:
    """Everything a front door needs, built once per process."""

    settings: Settings
    engine: Engine
    keyring: KeyRing
    policies: PolicyHolder
    audit: AuditLog
    signer: Ed25519Signer
    gateway: Gateway
    writes: CustomerWrites
    notes: NoteService
    pii: Callable[[], PiiEngine]
    """The shared PII engine, created (and its models loaded) on first call."""
    channel: str = "system"
    """How this process's accesses come in (``cli``, ``http``, ``system``): recorded in every event."""
    os_user: str = ""
    """The operating-system user of a CLI process (recorded in every event), else empty."""

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


def _build(settings: Settings, provider: KeyProvider, signing: Ed25519Signer) -> Hush:
    engine = create_db_engine(settings.database_url)
    try:
        migrate(engine)
        keyring = KeyRing(provider)
        store = CustomerStore(
            keyring=keyring, phone_region=settings.phone_region, screen=CustomerFieldScreen()
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

    gateway = Gateway(
        engine=engine,
        store=store,
        policies=policies,
        audit=audit,
        keyring=keyring,
        note_text=PiiNoteText(engine=pii, hash_key=keyring.mask_hash_key),
    )
    notes = NoteService(
        gateway=gateway,
        engine=pii,
        max_bytes=settings.note_max_bytes,
        known=KnownRecordsCache(gateway=gateway),
    )
    return Hush(
        settings=settings,
        engine=engine,
        keyring=keyring,
        policies=policies,
        audit=audit,
        signer=signing,
        gateway=gateway,
        writes=CustomerWrites(
            gateway=gateway,
            keystore_backup_retention_days=settings.keystore_backup_retention_days,
            exports_dir=settings.exports_dir,
        ),
        notes=notes,
        pii=pii,
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
