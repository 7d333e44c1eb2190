"""The CLI's composition root: the one module of ``api.cli`` that builds hushdb's objects.

A command opens the store with :func:`opened` and gets a :class:`Services`:
the wired :class:`~api.wiring.Hush` (engine, key ring, policy, audit log,
gateway, writes, notes) and the services over it (compliance queries, API
keys, profiling, ...), each built once, on first use.  Commands that work
without an opened store (backups, restore, the PII and policy commands) get
their collaborators from the functions below.  Nothing else in ``api.cli``
constructs a service; an architecture test (tests/api/test_cli_architecture.py)
checks that.

Imports are lazy: this module loads only typer and the error types, so that
``hushdb --help`` and ``hushdb audit verify`` start fast; a service's modules
load when a command first asks for it.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from api.cli.output import fail
from core.errors import HushError

if TYPE_CHECKING:
    from fastapi import FastAPI
    from sqlalchemy.engine import Engine

    from api.wiring import Hush
    from audit.signing import Ed25519Signer
    from core.apikeys import ApiKeys
    from core.backup import BackupMaker, Restorer
    from core.compliance import ComplianceQueries
    from core.config import Settings
    from core.dsar import DataSubjectExport
    from core.export import MailmergeService
    from core.gateway import AccessContext, Gateway
    from core.keys import KeyProvider, KeyRing
    from core.notes import NoteService
    from core.pii.engine import PiiEngine
    from core.profiling.access import AccessAnalytics
    from core.profiling.quality_service import DataQualityService
    from core.profiling.service import ProfilingService
    from core.writes import CustomerWrites
    from policies.authorizer import Authorizer
    from policies.holder import PolicyHolder

Progress = Callable[[str, int], None]
EventDetail = dict[str, str | int | bool | None]


class Services:
    """One opened store and the services over it, each built on first use and then kept."""

    def __init__(self, hush: Hush) -> None:
        self.hush = hush

    # -- the wired store (api.wiring) --------------------------------------------------------

    @property
    def settings(self) -> Settings:
        return self.hush.settings

    @property
    def engine(self) -> Engine:
        return self.hush.engine

    @property
    def keyring(self) -> KeyRing:
        return self.hush.keyring

    @property
    def policies(self) -> PolicyHolder:
        return self.hush.policies

    @property
    def signer(self) -> Ed25519Signer:
        return self.hush.signer

    @property
    def gateway(self) -> Gateway:
        return self.hush.gateway

    @property
    def writes(self) -> CustomerWrites:
        return self.hush.writes

    @property
    def notes(self) -> NoteService:
        return self.hush.notes

    def context(self, subject: str, purpose: str) -> AccessContext:
        """SUBJECT acting for PURPOSE, with the roles the policy files give it (unknown: refused)."""
        return self.hush.context(subject, purpose)

    def operator_context(self, purpose: str = "compliance") -> AccessContext:
        """The local operator holding the key file (audited as ``operator:<os user>``)."""
        return self.hush.operator_context(purpose)

    def context_or_operator(self, subject: str | None, purpose: str) -> AccessContext:
        """SUBJECT's context when ``--as`` was given, else the operator's."""
        return self.context(subject, purpose) if subject else self.operator_context(purpose)

    # -- services ----------------------------------------------------------------------------

    @cached_property
    def compliance(self) -> ComplianceQueries:
        from core.compliance import ComplianceQueries

        return ComplianceQueries(hush=self.hush)

    @cached_property
    def apikeys(self) -> ApiKeys:
        from core.apikeys import ApiKeys

        return ApiKeys(gateway=self.gateway)

    @cached_property
    def dsar(self) -> DataSubjectExport:
        from core.dsar import DataSubjectExport

        return DataSubjectExport(gateway=self.gateway, reports=self.compliance)

    @cached_property
    def mailmerge(self) -> MailmergeService:
        from core.export import MailmergeService

        return MailmergeService(gateway=self.gateway, pii=self.hush.pii, settings=self.settings)

    @cached_property
    def profiling(self) -> ProfilingService:
        from core.profiling.service import ProfilingService

        return ProfilingService(gateway=self.gateway)

    @cached_property
    def quality(self) -> DataQualityService:
        from core.profiling.quality_service import DataQualityService

        return DataQualityService(gateway=self.gateway)

    @cached_property
    def access_analytics(self) -> AccessAnalytics:
        from core.profiling.access import AccessAnalytics

        return AccessAnalytics(gateway=self.gateway)

    def backup_maker(self, ctx: AccessContext, progress: Progress) -> BackupMaker:
        """An online backup of this store, audited as ``ctx`` (one event per backup)."""
        from core.backup import BackupMaker

        gateway = self.gateway

        def record(detail: EventDetail) -> None:
            gateway.record_alone(
                gateway.event(
                    ctx, action="backup", resource="admin", fields=["backup"], decision="allow", detail=detail
                )
            )

        return BackupMaker(
            engine=self.engine,
            root_key=self.keyring.provider.root_key(),
            signer=self.signer,
            record_event=record,
            progress=progress,
        )

    def http_app(self) -> FastAPI:
        """The HTTP API over this store (``hushdb serve``; the app builds its own collaborators)."""
        from api.http.app import create_app, default_routers

        return create_app(self.hush, extra_routers=default_routers(), warm_up=True)


def os_user() -> str:
    """The operating-system user running this command (recorded in every audit event it causes)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


def settings(data_dir: Path | None = None) -> Settings:
    """The settings for DATA_DIR (else ``HUSHDB_HOME``, else ``./.hushdb``) and the environment."""
    from core.config import load_settings

    return load_settings(data_dir)


@contextmanager
def opened(data_dir: Path | None) -> Iterator[Services]:
    """Open the store for one command; a HushError becomes a one-line error and its exit code.

    A denial the gateway left pending (a customer outside the caller's scope) is
    recorded before the error is reported; the store is closed (its newest
    events signed) in every case.
    """
    from api.wiring import open_store

    hush: Hush | None = None
    try:
        hush = open_store(settings(data_dir))
        hush.channel, hush.os_user = "cli", os_user()
        yield Services(hush)
    except HushError as exc:
        if hush is not None:
            _settle_denial(hush, exc)
        fail(exc)
    finally:
        if hush is not None:
            hush.close()


def _settle_denial(hush: Hush, exc: HushError) -> None:
    """Record the pending denial of a customer outside the caller's scope (see core.governance)."""
    try:
        hush.gateway.governance.settle(exc)
    except HushError as audit_error:
        fail(audit_error)


def initialise(config: Settings) -> None:
    """Create the data directory, key file, audit signing key and schema (idempotent)."""
    from api.wiring import init_store

    init_store(config).close()


def operator_keys(data_dir: Path | None) -> tuple[Settings, KeyProvider, Ed25519Signer]:
    """The data directory's settings, its key provider and the audit signing key (in that order)."""
    from audit.signing import load_signer
    from core.keys import open_key_provider

    config = settings(data_dir)
    provider = open_key_provider(config.key_source)
    return config, provider, load_signer(config.signing_key_path)


def key_fingerprint(provider: KeyProvider) -> str:
    """The root key's fingerprint (what a backup records to tell its key store apart)."""
    from core.keys import KeyRing

    return KeyRing(provider).fingerprint


def restorer(data_dir: Path | None, progress: Progress) -> Restorer:
    """Rebuilds DATA_DIR's data from backups, keeping its key store and auditing the restore."""
    from audit.checkpoints import JsonlCheckpointSink
    from audit.log import AuditLog
    from core.backup import Restorer

    config, provider, signer = operator_keys(data_dir)
    audit = AuditLog(
        signer=signer,
        checkpoint_sink=JsonlCheckpointSink(config.checkpoints_path),
        checkpoint_every=config.checkpoint_every,
    )
    return Restorer(
        database_url=config.database_url,
        witness_path=config.checkpoints_path,
        root_key=provider.root_key(),
        fingerprint=key_fingerprint(provider),
        audit=audit,
        public_key=signer.public_key,
        progress=progress,
    )


@contextmanager
def database(config: Settings) -> Iterator[Engine]:
    """An engine on the store's database, without opening the store (no migration, no keys)."""
    from core.db import create_db_engine

    engine = create_db_engine(config.database_url)
    try:
        yield engine
    finally:
        engine.dispose()


def pii_engine() -> PiiEngine:
    """The PII engine of the settings (spaCy and Presidio load here, only for the commands that need it)."""
    from core.pii.engine import PiiEngine

    config = settings(None)
    return PiiEngine.create(spacy_model=config.spacy_model, zh_model=config.zh_ner_model)


def authorizer(policy_dir: Path | None, data_dir: Path | None) -> Authorizer:
    """The policy files of POLICY_DIR (else the settings' policy directory), loaded and validated."""
    from policies.authorizer import Authorizer

    return Authorizer.load(policy_dir if policy_dir is not None else settings(data_dir).policy_dir)


__all__ = [
    "Services",
    "authorizer",
    "database",
    "initialise",
    "key_fingerprint",
    "opened",
    "operator_keys",
    "os_user",
    "pii_engine",
    "restorer",
    "settings",
]
