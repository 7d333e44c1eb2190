"""Atomic policy reload: build the new authorizer completely, then swap one reference.

Like pycasbin's ``load_policy`` (copy, load, swap), a failed reload changes nothing:
the previous :class:`~policies.authorizer.Authorizer` stays in force and the error is
returned in the :class:`ReloadResult` so the caller can write it to the audit log.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from core.errors import PolicyError
from policies.authorizer import Authorizer


@dataclass(frozen=True, slots=True)
class ReloadResult:
    """The outcome of :meth:`PolicyHolder.reload`.

    ``policy_hash`` is the hash in force after the call; ``previous_hash`` the one before.
    ``error`` is set (and ``ok`` false) when the files were refused.
    """

    ok: bool
    policy_hash: str
    previous_hash: str
    error: PolicyError | None = None

    @property
    def changed(self) -> bool:
        return self.ok and self.policy_hash != self.previous_hash


class PolicyHolder:
    """Holds the authorizer in force and replaces it atomically on reload."""

    def __init__(
        self,
        *,
        authorizer: Authorizer,
        policy_dir: Path,
        loader: Callable[[Path], Authorizer] = Authorizer.load,
    ) -> None:
        self._current = authorizer
        self._policy_dir = Path(policy_dir)
        self._loader = loader
        self._reload_lock = threading.Lock()

    @classmethod
    def load(cls, policy_dir: Path) -> PolicyHolder:
        """Load the policy of ``policy_dir``; a broken file raises (there is nothing to fall back on)."""
        return cls(authorizer=Authorizer.load(policy_dir), policy_dir=policy_dir)

    @property
    def current(self) -> Authorizer:
        """The authorizer in force.  Take it once per request and use that one throughout."""
        return self._current

    @property
    def policy_hash(self) -> str:
        return self._current.policy_hash

    @property
    def policy_dir(self) -> Path:
        return self._policy_dir

    def reload(self, *, record: Callable[[ReloadResult], object] | None = None) -> ReloadResult:
        """Re-read the policy directory; on any error keep the previous policy.

        ``record`` is called with the outcome *before* a new policy is swapped in (the
        audit event of the reload); if it raises, nothing is swapped and the error
        propagates, so no policy is ever in force without its record.
        """
        with self._reload_lock:
            previous = self._current
            try:
                candidate = self._loader(self._policy_dir)
            except Exception as exc:  # never let any error leave us without a policy
                error = (
                    exc
                    if isinstance(exc, PolicyError)
                    else PolicyError(f"the policy could not be loaded ({type(exc).__name__})")
                )
                if error is not exc:
                    error.__cause__ = exc
                failed = ReloadResult(
                    ok=False,
                    policy_hash=previous.policy_hash,
                    previous_hash=previous.policy_hash,
                    error=error,
                )
                if record is not None:
                    record(failed)
                return failed
            result = ReloadResult(
                ok=True, policy_hash=candidate.policy_hash, previous_hash=previous.policy_hash
            )
            if record is not None:
                record(result)
            self._current = candidate
            return result
