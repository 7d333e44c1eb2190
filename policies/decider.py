"""The seam between the authorizer and Casbin: one question, one verdict.

:class:`CasbinDecider` asks a Casbin enforcer built from a validated
:class:`~policies.loader.PolicySet`.  :class:`RecordingDecider` wraps any decider
and records every question asked (the fake that tests use to count Casbin calls).

Casbin's ``enable_enforce(False)`` makes every request succeed; hushdb never calls
it, and :class:`CasbinDecider` refuses to answer (raises, which the authorizer turns
into a deny) if an enforcer was ever switched that way.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Sequence
from typing import Any, Protocol

import casbin
from casbin.model import Model
from casbin.persist import Adapter

from core.errors import PolicyError
from policies.loader import PolicySet


class Verdict(enum.Enum):
    """Casbin's answer for one (role, purpose, resource, field, action)."""

    ALLOW = "allow"
    #: a deny rule matched; it wins over every allow, across all of a subject's roles
    DENY = "deny"
    #: no rule matched: denied by default
    NO_MATCH = "no_match"


class Decider(Protocol):
    """Answers one access question for one role."""

    def decide(self, *, role: str, purpose: str, resource: str, field: str, action: str) -> Verdict: ...


class EnforcerLike(Protocol):
    """The part of ``casbin.Enforcer`` that hushdb uses."""

    enabled: bool

    def enforce_ex(self, *rvals: str) -> tuple[bool, Sequence[str]]: ...


class _PolicySetAdapter(Adapter):  # type: ignore[misc]
    """Feeds Casbin the rules the loader validated (Casbin never reads the files itself)."""

    def __init__(self, policy_set: PolicySet) -> None:
        self._policy_set = policy_set

    def load_policy(self, model: Any) -> None:
        for rule in self._policy_set.rules:
            model.add_policy("p", "p", rule.casbin_rule())
        for assignment in self._policy_set.assignments:
            model.add_policy("g", "g", [assignment.subject, assignment.role])


def build_enforcer(policy_set: PolicySet) -> EnforcerLike:
    """A Casbin enforcer holding exactly the validated rules of ``policy_set``."""
    try:
        model = Model()
        model.load_model_from_text(policy_set.model_text)
        enforcer = casbin.Enforcer(model, _PolicySetAdapter(policy_set))
    except Exception as exc:  # Casbin raises bare exceptions of many kinds
        raise PolicyError(f"Casbin could not build the enforcer ({type(exc).__name__})") from exc
    built: EnforcerLike = enforcer
    return built


class CasbinDecider:
    """Asks Casbin; one ``enforce_ex`` call per :meth:`decide`."""

    def __init__(self, *, enforcer: EnforcerLike) -> None:
        self._enforcer = enforcer
        # pycasbin's enforce_ex writes into shared function maps; plans are per query, so
        # serialising the questions costs nothing per row.
        self._lock = threading.Lock()

    @classmethod
    def from_policy_set(cls, policy_set: PolicySet) -> CasbinDecider:
        return cls(enforcer=build_enforcer(policy_set))

    def decide(self, *, role: str, purpose: str, resource: str, field: str, action: str) -> Verdict:
        if self._enforcer.enabled is not True:
            raise PolicyError("the Casbin enforcer has enforcement switched off; refusing to decide")
        with self._lock:
            allowed, explain = self._enforcer.enforce_ex(role, purpose, resource, field, action)
        if allowed is True:
            return Verdict.ALLOW
        if allowed is not False:
            raise PolicyError("Casbin returned a non-boolean decision")
        # With the allow-and-deny effect, a refused request that matched a rule matched a deny rule.
        return Verdict.DENY if len(explain) > 0 else Verdict.NO_MATCH


class RecordingDecider:
    """Wraps a decider and records each question (role, purpose, resource, field, action)."""

    def __init__(self, *, inner: Decider) -> None:
        self._inner = inner
        self.calls: list[tuple[str, str, str, str, str]] = []

    def decide(self, *, role: str, purpose: str, resource: str, field: str, action: str) -> Verdict:
        self.calls.append((role, purpose, resource, field, action))
        return self._inner.decide(role=role, purpose=purpose, resource=resource, field=field, action=action)
