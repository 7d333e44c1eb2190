"""Key rotation: re-wrap every data key under a new key-encryption-key version.

Data is never re-encrypted: field ciphertexts are bound to the data-key
version only, so rotating the KEK touches one small row per customer in the
key store (:mod:`core.keystore`).

The key store decides which version is current, for every process at once:

1. *Switch* (one transaction, state row ``FOR UPDATE`` on PostgreSQL, the
   write lock on SQLite): the new KEK is added to the key file (or a version a
   crashed rotation already added is taken up), recorded in ``key_versions``
   and made current.  From the commit on, every writer in every process wraps
   new keys under it (each reads the current version in its own transaction).
2. *Re-wrap* in batches, each its own transaction: keys under any other
   version are unwrapped and wrapped under the current one.  A run that finds
   such keys resumes instead of starting another version, so a crash anywhere
   is finished by the next run.
3. *Retire* (``retire=True``; one transaction under the lock): old versions
   that the key store says no data key uses any more are marked retired and
   deleted from the key file.  A version still in use is never deleted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from core import keystore
from core.db import transaction
from core.errors import KeySourceError, WrongKeyError
from core.keys import KeyRing
from core.models import customer_keys_t, key_state_t, key_versions_t, utcnow


@dataclass(frozen=True, slots=True)
class RotationReport:
    target_version: int
    rewrapped: int
    resumed: bool
    retired_versions: tuple[int, ...]


class KeyRotator:
    """Re-wraps every data key under a new KEK version, in batches, resumable after a crash.

    Safe beside other processes that write (they wrap under whatever the key
    store says is current in their transaction) and beside other rotations
    (one switches at a time; re-wrapping the same key twice is harmless).
    """

    def __init__(self, *, engine: Engine, keyring: KeyRing, batch_size: int = 1000) -> None:
        self._engine = engine
        self._keyring = keyring
        self._batch_size = batch_size

    def _pending(self, conn: Connection, current: int) -> int:
        return int(
            conn.execute(
                sa.select(sa.func.count())
                .select_from(customer_keys_t)
                .where(customer_keys_t.c.kek_version != current)
            ).scalar_one()
        )

    def _switch(self) -> tuple[int, bool, int]:
        """Phase 1: make a new version current, unless keys still await re-wrapping (resume)."""
        provider = self._keyring.provider
        with transaction(self._engine) as conn:
            lease = keystore.read_current(conn, self._keyring, exclusive=True)
            pending = self._pending(conn, lease.version)
            if pending:
                return lease.version, True, pending
            provider.refresh()
            known = {
                int(r.version): (bytes(r.check_value), r.retired_at)
                for r in conn.execute(
                    sa.select(
                        key_versions_t.c.version, key_versions_t.c.check_value, key_versions_t.c.retired_at
                    )
                )
            }
            # A version above current in the key file was added by a rotation that crashed before
            # its switch committed: take it up instead of adding yet another one.
            left = [
                v for v in provider.versions() if v > lease.version and known.get(v, (b"", None))[1] is None
            ]
            target = max(left) if left else provider.add_version()
            check = self._keyring.check_value(target)
            if target not in known:
                conn.execute(
                    sa.insert(key_versions_t).values(version=target, check_value=check, created_at=utcnow())
                )
            elif known[target][0] != check:
                raise WrongKeyError(f"{provider.describe()} does not match this store (key version {target})")
            conn.execute(
                sa.update(key_state_t)
                .where(key_state_t.c.id == keystore.STATE_ROW)
                .values(current_version=target, updated_at=utcnow())
            )
        keystore.crash_point("rotate:switched")
        with transaction(self._engine) as conn:
            self._keyring.observe(keystore.read_current(conn, self._keyring).version)
            total = self._pending(conn, target)
        return target, False, total

    def _rewrap_batch(self) -> tuple[int, int]:
        """Phase 2, one batch: re-wrap keys not under the current version; returns (count, current)."""
        with transaction(self._engine) as conn:
            lease = keystore.read_current(conn, self._keyring)
            rows = conn.execute(
                sa.select(
                    customer_keys_t.c.customer_id,
                    customer_keys_t.c.wrapped_key,
                    customer_keys_t.c.kek_version,
                )
                .where(customer_keys_t.c.kek_version != lease.version)
                .order_by(customer_keys_t.c.customer_id)
                .limit(self._batch_size)
            ).all()
            updates = []
            for r in rows:
                data_key = self._keyring.unwrap(r.customer_id, r.wrapped_key, r.kek_version)
                wrapped, _ = self._keyring.wrap(r.customer_id, data_key, lease)
                updates.append(
                    {"cid": r.customer_id, "old": r.kek_version, "wk": wrapped, "v": lease.version}
                )
            if updates:
                conn.execute(
                    sa.update(customer_keys_t)
                    .where(
                        customer_keys_t.c.customer_id == sa.bindparam("cid"),
                        customer_keys_t.c.kek_version == sa.bindparam("old"),  # not re-wrapped meanwhile
                    )
                    .values(wrapped_key=sa.bindparam("wk"), kek_version=sa.bindparam("v")),
                    updates,
                )
        return len(rows), lease.version

    def retire(self) -> tuple[int, ...]:
        """Phase 3: retire every version below current that no data key uses; returns them.

        Checked and done under the lock: the versions are marked retired in
        the key store and deleted from the key file in one transaction; no
        process wraps under a version that is not current, so none can start
        using them.  Versions still in use stay (a later run retires them).
        """
        provider = self._keyring.provider
        with transaction(self._engine) as conn:
            lease = keystore.read_current(conn, self._keyring, exclusive=True)
            provider.refresh()
            in_use = keystore.int_values(conn, sa.select(customer_keys_t.c.kek_version).distinct())
            live = keystore.int_values(
                conn, sa.select(key_versions_t.c.version).where(key_versions_t.c.retired_at.is_(None))
            )
            old = sorted((live | set(provider.versions())) - in_use - {lease.version})
            old = [v for v in old if v < lease.version]
            if not old:
                return ()
            conn.execute(
                sa.update(key_versions_t)
                .where(key_versions_t.c.version.in_(old), key_versions_t.c.retired_at.is_(None))
                .values(retired_at=utcnow())
            )
            keystore.crash_point("rotate:retire")
            provider.retire_versions(old)
            self._keyring.observe(lease.version, old)
        return tuple(old)

    def rotate(
        self,
        *,
        retire: bool = False,
        progress: Callable[[int, int], None] | None = None,
        _crash_after_batches: int | None = None,
    ) -> RotationReport:
        provider = self._keyring.provider
        if not provider.rotatable:
            raise KeySourceError(f"{provider.describe()} cannot rotate keys; use a key file or a KMS")
        target, resumed, total = self._switch()
        done = 0
        batches = 0
        while True:
            count, target = self._rewrap_batch()
            if not count:
                break
            done += count
            batches += 1
            if progress is not None:
                progress(done, max(total, done))
            keystore.crash_point("rotate:batch")
            if _crash_after_batches is not None and batches >= _crash_after_batches:
                raise RuntimeError("simulated crash during rotation")
        retired = self.retire() if retire else ()
        return RotationReport(
            target_version=target, rewrapped=done, resumed=resumed, retired_versions=retired
        )
