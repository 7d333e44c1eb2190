"""The one error tree of hushdb.

Every failure that hushdb reports is an instance of :class:`HushError`.  Foreign
exceptions (SQLAlchemy, Casbin, Presidio, cryptography, OS errors) are caught
where they happen and re-raised as one of these with ``raise Ours(...) from exc``;
they never escape as themselves.  The boundaries translate this tree: the HTTP
API into RFC 9457 problem documents (``http_status``), the CLI into a one-line
message and an exit code (``exit_code``).

This module imports nothing of hushdb, so every layer (``core``, ``policies``,
``audit``, ``api``) may import it without breaking the direction of
dependencies.  Messages never carry personal data, secrets or key material.

    HushError                          exit 1, HTTP 500
    ├── ConfigError                    exit 2, HTTP 500   bad configuration
    │   └── KeySourceError             exit 2             key file missing, mode not 0600, bad encoding
    ├── CryptoError                    exit 2, HTTP 500
    │   ├── WrongKeyError              exit 2             the key source does not match this store
    │   ├── KeyUnavailableError        exit 2             a key version was retired or is unknown
    │   ├── KeyStoreMismatchError      exit 2             the key store is not this data's (or is missing)
    │   └── CorruptCiphertextError     exit 2             names the record, never returns garbage
    ├── InputError                     exit 2, HTTP 422   a value a user gave is not acceptable
    │   ├── InvalidPurposeError        exit 2, HTTP 400
    │   ├── PayloadTooLargeError       exit 2, HTTP 413
    │   ├── InvalidCursorError         exit 2, HTTP 400   a paging cursor that was not issued by us
    │   └── TemplateBudgetError        exit 2, HTTP 422   a letter template over its time/size budget
    ├── NotFoundError                  exit 4, HTTP 404
    │   └── (core.governance.UnrecordedDenial: out of scope, answered as not found; denial recorded)
    ├── ConflictError                  exit 5, HTTP 409   e.g. duplicate external_id
    │   └── ExportCancelledError       exit 5             an export cancelled between two letters
    ├── ErasedError                    exit 4, HTTP 410   the record was crypto-shredded
    ├── AuthError                      exit 6, HTTP 401
    │   └── UnknownSubjectError        exit 6             a subject without any role in the policy
    ├── AccessDenied                   exit 7, HTTP 403   a policy denial (always audited)
    ├── PolicyError                    exit 2, HTTP 500
    │   └── PolicyFileError            exit 2             names file, line and reason
    ├── AuditError                     exit 2, HTTP 503
    │   ├── AuditWriteError            exit 2             fail closed: the access did not happen
    │   └── AuditIntegrityError        exit 1             names the first bad sequence number
    ├── StoreError                     exit 2, HTTP 503   the database failed
    ├── ListenError                    exit 8             `serve` cannot listen (address in use, not allowed)
    ├── ModelUnusableError             exit 9, HTTP 422   a profiling fit ended on a bound / did not converge
    └── BackupError                    exit 2, HTTP 500   a backup cannot be made or read (I/O, unsupported)
        ├── BackupIntegrityError       exit 1             tampered, truncated or mis-signed backup
        │   └── BackupChainError       exit 1             a missing or mismatched incremental base
        ├── ForeignBackupError         exit 2             the backup belongs to another store (key store)
        └── RestoreTargetError         exit 5, HTTP 409   the target is not empty (use --force) or in use
"""

from __future__ import annotations

from typing import Any


class HushError(Exception):
    """Base of every error hushdb raises on purpose."""

    exit_code: int = 1
    http_status: int = 500
    title: str = "Internal error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigError(HushError):
    exit_code = 2
    title = "Configuration error"


class KeySourceError(ConfigError):
    title = "Key source error"


class CryptoError(HushError):
    exit_code = 2
    title = "Cryptographic error"


class WrongKeyError(CryptoError):
    title = "Wrong key"


class KeyUnavailableError(CryptoError):
    title = "Key unavailable"


class KeyStoreMismatchError(CryptoError):
    """The key store (wrapped data keys, KEK state) does not belong to this data, or is missing."""

    title = "Key store does not match the data"


class CorruptCiphertextError(CryptoError):
    title = "Corrupt ciphertext"


class InputError(HushError):
    exit_code = 2
    http_status = 422
    title = "Invalid input"


class InvalidPurposeError(InputError):
    http_status = 400
    title = "Invalid purpose"


class PayloadTooLargeError(InputError):
    http_status = 413
    title = "Payload too large"


class InvalidCursorError(InputError):
    """A paging cursor that this server did not issue (or for another listing)."""

    http_status = 400
    title = "Invalid cursor"


class NotFoundError(HushError):
    exit_code = 4
    http_status = 404
    title = "Not found"


class ConflictError(HushError):
    exit_code = 5
    http_status = 409
    title = "Conflict"


class ErasedError(HushError):
    exit_code = 4
    http_status = 410
    title = "Erased"


class AuthError(HushError):
    exit_code = 6
    http_status = 401
    title = "Unauthorized"


class UnknownSubjectError(AuthError):
    title = "Unknown subject"


class AccessDenied(HushError):
    exit_code = 7
    http_status = 403
    title = "Access denied"


class PolicyError(HushError):
    exit_code = 2
    title = "Policy error"


class PolicyFileError(PolicyError):
    """A policy file is malformed.  ``path`` and ``line`` locate the problem."""

    title = "Policy file error"

    def __init__(self, path: str, line: int, reason: str) -> None:
        super().__init__(f"{path}:{line}: {reason}")
        self.path = path
        self.line = line
        self.reason = reason


class AuditError(HushError):
    exit_code = 2
    http_status = 503
    title = "Audit log error"


class AuditWriteError(AuditError):
    title = "Audit log unavailable"


class AuditIntegrityError(AuditError):
    """Verification found tampering; ``first_bad_seq`` names the first bad event."""

    exit_code = 1
    title = "Audit log tampered"

    def __init__(self, message: str, first_bad_seq: int | None) -> None:
        super().__init__(message)
        self.first_bad_seq = first_bad_seq


class StoreError(HushError):
    exit_code = 2
    http_status = 503
    title = "Store unavailable"


class ListenError(HushError):
    """``hushdb serve`` cannot listen on the address it was given (in use, not available, not allowed)."""

    exit_code = 8
    title = "Cannot listen"


class TemplateBudgetError(InputError):
    """A template asked for more time, memory or output than a letter may use."""


class ExportCancelledError(ConflictError):
    """The run was cancelled (``DELETE /exports/{id}``, Ctrl-C, server shutdown) between two letters."""

    title = "Export cancelled"


class ModelUnusableError(HushError):
    """A model fit ended on a bound, did not converge or cannot identify its parameters.

    Exit code 9 on the command line; HTTP 422 with problem type ``urn:hushdb:problem:model-unusable``.
    ``run_id`` and ``audit_seq`` name the stored run (kept without results) when there is one.
    """

    exit_code = 9
    http_status = 422
    title = "Model unusable"

    def __init__(
        self,
        message: str,
        *,
        run_id: str | None = None,
        audit_seq: int | None = None,
        fit: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.run_id = run_id
        self.audit_seq = audit_seq
        self.fit = fit or {}


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
