"""Errors of backup and restore (subclasses of the one tree in :mod:`core.errors`).

HushError
└── BackupError                  exit 2   a backup cannot be made or read (I/O, unsupported)
    ├── BackupIntegrityError     exit 1   tampered, truncated or mis-signed backup
    │   └── BackupChainError     exit 1   a missing or mismatched incremental base
    ├── ForeignBackupError       exit 2   the backup belongs to another store (key store)
    └── RestoreTargetError       exit 5   the target is not empty (use --force) or is in use

Also at the CLI: a key store that does not match (KeyStoreMismatchError) and
database errors during a backup or restore (StoreError) exit 2.  Every error
is one line on stderr and never holds key material or a decrypted value.
"""

from __future__ import annotations

from core.errors import HushError


class BackupError(HushError):
    exit_code = 2
    http_status = 500
    title = "Backup error"


class BackupIntegrityError(BackupError):
    exit_code = 1
    title = "Backup damaged"


class BackupChainError(BackupIntegrityError):
    title = "Backup chain broken"


class ForeignBackupError(BackupError):
    title = "Backup of another store"


class RestoreTargetError(BackupError):
    exit_code = 5
    http_status = 409
    title = "Restore target not empty"
