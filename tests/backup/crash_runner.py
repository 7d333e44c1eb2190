"""Run a backup or a restore in this process and die like ``kill -9`` at a named point.

``python -m tests.backup.crash_runner backup|restore POINT DATA_DIR DATABASE_URL PATH [BASE]``

``os._exit`` ends the process on the spot: no ``finally``, no cleanup, no
flush -- what a SIGKILL leaves behind.  Exit code 0 means the point was never
reached (the run finished).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from api.wiring import open_store
from audit.checkpoints import JsonlCheckpointSink
from audit.log import AuditLog
from audit.signing import load_signer
from core.backup import BackupMaker, Restorer
from core.config import load_settings
from core.keys import KeyRing, open_key_provider

KILLED = 137


def main(argv: list[str]) -> int:
    mode, point, data_dir, url, path = argv[:5]
    base = Path(argv[5]) if len(argv) > 5 else None

    def fault(name: str) -> None:
        if name == point:
            os._exit(KILLED)

    settings = load_settings(data_dir, env={"HUSHDB_DATABASE_URL": url, "HUSHDB_CHECKPOINT_EVERY": "50"})
    if mode == "backup":
        hush = open_store(settings)
        maker = BackupMaker(
            engine=hush.engine, root_key=hush.keyring.provider.root_key(), signer=hush.signer, fault=fault
        )
        maker.create(Path(path), incremental_from=base)
        hush.close()
        return 0
    provider = open_key_provider(settings.key_source)
    signer = load_signer(settings.signing_key_path)
    restorer = Restorer(
        database_url=settings.database_url,
        witness_path=settings.checkpoints_path,
        root_key=provider.root_key(),
        fingerprint=KeyRing(provider).fingerprint,
        audit=AuditLog(signer=signer, checkpoint_sink=JsonlCheckpointSink(settings.checkpoints_path)),
        public_key=signer.public_key,
        fault=fault,
    )
    restorer.restore(Path(path), force=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
