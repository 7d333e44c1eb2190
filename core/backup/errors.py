"""Errors of backup and restore: defined in the one tree of :mod:`core.errors`, re-exported here.

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

from core.errors import (
    BackupChainError,
    BackupError,
    BackupIntegrityError,
    ForeignBackupError,
    RestoreTargetError,
)

__all__ = [
    "BackupChainError",
    "BackupError",
    "BackupIntegrityError",
    "ForeignBackupError",
    "RestoreTargetError",
]
