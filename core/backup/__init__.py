"""Online backup and restore of the data, full and incremental (issue 14, part 3).

``sealed``    AES-256-GCM chunked files under a key derived from the root key
``rows``      the logical row stream and the row digests incrementals compare
``source``    which tables are "the data"; reading them from one snapshot
``manifest``  the signed manifest.json and the chain of bases
``create``    BackupMaker: full (SQLite online backup / COPY) and incremental
``restore``   check_chain (``backup verify``) and Restorer (``restore``)
"""

from core.backup import errors
from core.backup.create import BackupMaker, BackupOutcome
from core.backup.errors import *  # noqa: F403  (the error classes of core.errors, see core.backup.errors)
from core.backup.restore import ChainReport, RestoreOutcome, Restorer, check_chain

__all__ = [
    "BackupMaker",
    "BackupOutcome",
    "ChainReport",
    "RestoreOutcome",
    "Restorer",
    "check_chain",
    *errors.__all__,
]
