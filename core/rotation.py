"""Key rotation: re-wrap every data key under a new key-encryption-key version.

Data is never re-encrypted: field ciphertexts are bound to the data-key
version only, so rotating the KEK touches one small row per customer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from core.db import transaction
from core.errors import KeySourceError
from core.keys import KeyRing
from core.models import customer_keys_t, key_versions_t, utcnow


@dataclass(frozen=True, slots=True)
class RotationReport:
    target_version: int
    rewrapped: int
    resumed: bool
    retired_versions: tuple[int, ...]


class KeyRotator:
    """Re-wraps every data key under a new KEK version, in batches, resumable after a crash.

    A run that finds data keys under older versions than the current one
    resumes that rotation instead of starting another.  Data is never
    re-encrypted: field ciphertexts are bound to the data-key version only.
    ``retire=True`` then deletes the old KEK versions from the key source, so
    that copies of the database taken earlier cannot be unwrapped any more.
    """

    def __init__(self, *, engine: Engine, keyring: KeyRing, batch_size: int = 1000) -> None:
        self._engine = engine
        self._keyring = keyring
        self._batch_size = batch_size

    def _pending(self, conn: Connection, target: int) -> int:
        return int(
            conn.execute(
                sa.select(sa.func.count())
                .select_from(customer_keys_t)
                .where(customer_keys_t.c.kek_version != target)
            ).scalar_one()
        )

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
        with transaction(self._engine) as conn:
            pending = self._pending(conn, provider.current_version())
        resumed = pending > 0
        if not resumed:
            provider.add_version()
        target = provider.current_version()
        with transaction(self._engine) as conn:
            if (
                conn.execute(
                    sa.select(key_versions_t.c.version).where(key_versions_t.c.version == target)
                ).first()
                is None
            ):
                conn.execute(
                    sa.insert(key_versions_t).values(
                        version=target, check_value=self._keyring.check_value(target), created_at=utcnow()
                    )
                )
            total = self._pending(conn, target)
        done = 0
        batches = 0
        while True:
            with transaction(self._engine) as conn:
                rows = conn.execute(
                    sa.select(
                        customer_keys_t.c.customer_id,
                        customer_keys_t.c.wrapped_key,
                        customer_keys_t.c.kek_version,
                    )
                    .where(customer_keys_t.c.kek_version != target)
                    .order_by(customer_keys_t.c.customer_id)
                    .limit(self._batch_size)
                ).all()
                if not rows:
                    break
                updates = []
                for r in rows:
                    data_key = self._keyring.unwrap(r.customer_id, r.wrapped_key, r.kek_version)
                    wrapped, _ = self._keyring.wrap(r.customer_id, data_key, target)
                    updates.append({"cid": r.customer_id, "wk": wrapped, "v": target})
                conn.execute(
                    sa.update(customer_keys_t)
                    .where(customer_keys_t.c.customer_id == sa.bindparam("cid"))
                    .values(wrapped_key=sa.bindparam("wk"), kek_version=sa.bindparam("v")),
                    updates,
                )
            done += len(rows)
            batches += 1
            if progress is not None:
                progress(done, total)
            if _crash_after_batches is not None and batches >= _crash_after_batches:
                raise RuntimeError("simulated crash during rotation")
        retired: tuple[int, ...] = ()
        if retire:
            retired = provider.retire_versions_below(target)
            for v in retired:
                self._keyring.forget(v)
            if retired:
                with transaction(self._engine) as conn:
                    conn.execute(
                        sa.update(key_versions_t)
                        .where(key_versions_t.c.version.in_(retired))
                        .values(retired_at=utcnow())
                    )
        return RotationReport(
            target_version=target, rewrapped=done, resumed=resumed, retired_versions=retired
        )
