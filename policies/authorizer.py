"""The authorizer: builds access plans from the loaded policy, once per query.

Casbin is asked once per (role, field) for a distinct request key
(subject, roles, purpose, resource, action, fields); the resulting
:class:`~policies.plan.AccessPlan` is cached and applied to every row by the gateway.

How several roles combine, per field:

* a field is allowed when at least one role allows it and no role has a deny rule for
  it (an explicit deny wins across roles too);
* the plan's scope is ``all`` only if every allowed field is allowed with scope ``all``
  by some role; otherwise ``own`` (a field granted only for own rows never shows on
  other rows);
* the mask of a field is the most revealing one (full > partial > hashed > none)
  among the roles whose grant covers the plan's scope.

Any exception while deciding yields a plan that denies every field (``failure`` set,
not cached).  There is no way to switch enforcement off.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from types import MappingProxyType

from core.errors import InputError, InvalidPurposeError, PolicyError, UnknownSubjectError
from policies.decider import CasbinDecider, Decider, Verdict
from policies.loader import PolicySet, load_policy_set
from policies.plan import AccessPlan, FieldDecision, Scope
from policies.vocabulary import PURPOSES, RESOURCES, ROLES, mask_rank

DEFAULT_CACHE_SIZE = 4096

_PlanKey = tuple[str, frozenset[str], str, str, str, tuple[str, ...]]


class Authorizer:
    """Decisions over one loaded, immutable policy.  Safe to share between threads."""

    def __init__(self, *, policy: PolicySet, decider: Decider, cache_size: int = DEFAULT_CACHE_SIZE) -> None:
        self._policy = policy
        self._decider = decider
        self._subjects = policy.subjects()
        self._cache: OrderedDict[_PlanKey, AccessPlan] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    @classmethod
    def load(cls, policy_dir: Path) -> Authorizer:
        """Validate the files of ``policy_dir`` and build an authorizer over them.

        Raises :class:`core.errors.PolicyFileError` (file, line, reason) for a bad file.
        """
        policy = load_policy_set(policy_dir)
        return cls(policy=policy, decider=CasbinDecider.from_policy_set(policy))

    @property
    def policy(self) -> PolicySet:
        return self._policy

    @property
    def policy_hash(self) -> str:
        return self._policy.policy_hash

    def subjects(self) -> dict[str, frozenset[str]]:
        """Every subject of roles.csv and its roles."""
        return dict(self._subjects)

    def roles_for(self, subject: str) -> frozenset[str]:
        """The roles of ``subject``; :class:`UnknownSubjectError` if roles.csv gives it none."""
        roles = self._subjects.get(subject)
        if not roles:
            raise UnknownSubjectError("unknown subject: no role is assigned to it in the policy")
        return roles

    def plan(
        self,
        *,
        subject: str,
        roles: frozenset[str],
        purpose: str,
        resource: str,
        action: str,
        fields: Sequence[str],
    ) -> AccessPlan:
        """The access plan for one request.  See the module docstring for how roles combine.

        ``roles`` are taken as given (the caller resolved them, e.g. with :meth:`roles_for`);
        names that are not roles grant nothing.  Unknown resources, actions or fields are
        denied.  Raises :class:`InvalidPurposeError` for an unknown purpose and
        :class:`InputError` for an empty field list.
        """
        if purpose not in PURPOSES:
            raise InvalidPurposeError(f"unknown purpose (known: {', '.join(sorted(PURPOSES))})")
        if isinstance(fields, str) or not fields:
            raise InputError("an access plan needs a non-empty sequence of field names")
        key: _PlanKey = (subject, frozenset(roles), purpose, resource, action, tuple(fields))
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
        try:
            plan = self._decide(key)
        except Exception as exc:  # any failure while deciding is a deny
            return self._failed_plan(key, type(exc).__name__)
        with self._lock:
            self._cache[key] = plan
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return plan

    def explain_role(
        self, *, role: str, purpose: str, resource: str, action: str
    ) -> tuple[FieldDecision, ...]:
        """What the policy says for each field of ``resource`` for one role (uncached; for tables)."""
        spec = RESOURCES[resource]
        decisions = []
        for field in spec.fields:
            verdict = self._decider.decide(
                role=role, purpose=purpose, resource=resource, field=field, action=action
            )
            mask: str | None = None
            scope: Scope | None = None
            if verdict is Verdict.ALLOW:
                mask, scope = self._grant(role, purpose, resource, field, action)
            decisions.append(FieldDecision(field=field, verdict=verdict, mask=mask, scope=scope))
        return tuple(decisions)

    def _grant(
        self, role: str, purpose: str, resource: str, field: str, action: str
    ) -> tuple[str | None, Scope]:
        rule = self._policy.allow_rule(
            role=role, purpose=purpose, resource=resource, field=field, action=action
        )
        if rule is None or rule.scope not in ("all", "own"):
            raise PolicyError("Casbin allowed a request that no allow rule grants")
        scope: Scope = "all" if rule.scope == "all" else "own"
        return rule.mask, scope

    def _decide(self, key: _PlanKey) -> AccessPlan:
        subject, roles, purpose, resource, action, fields = key
        spec = RESOURCES.get(resource)
        askable: list[str] = []
        if spec is not None and action in spec.actions:
            askable = [field for field in dict.fromkeys(fields) if field in spec.fields]
        grants: dict[str, list[tuple[str | None, Scope]]] = {field: [] for field in askable}
        vetoed: set[str] = set()
        for role in sorted(roles & ROLES):
            for field in askable:
                verdict = self._decider.decide(
                    role=role, purpose=purpose, resource=resource, field=field, action=action
                )
                if verdict is Verdict.ALLOW:
                    grants[field].append(self._grant(role, purpose, resource, field, action))
                elif verdict is Verdict.DENY:
                    vetoed.add(field)
                elif verdict is not Verdict.NO_MATCH:
                    raise PolicyError("the decider returned an unknown verdict")
        allowed = [field for field in askable if grants[field] and field not in vetoed]
        scope: Scope = (
            "all"
            if allowed and all(any(s == "all" for _, s in grants[field]) for field in allowed)
            else "own"
        )
        masks: dict[str, str] = {}
        for field in allowed:
            candidates = [m for m, s in grants[field] if m is not None and (scope == "own" or s == "all")]
            if candidates:
                masks[field] = min(candidates, key=mask_rank)
        return AccessPlan(
            subject=subject,
            roles=roles,
            purpose=purpose,
            resource=resource,
            action=action,
            fields=fields,
            allowed=frozenset(allowed),
            denied=frozenset(fields) - frozenset(allowed),
            masks=MappingProxyType(masks),
            scope=scope,
            policy_hash=self.policy_hash,
        )

    def _failed_plan(self, key: _PlanKey, failure: str) -> AccessPlan:
        subject, roles, purpose, resource, action, fields = key
        return AccessPlan(
            subject=subject,
            roles=roles,
            purpose=purpose,
            resource=resource,
            action=action,
            fields=fields,
            allowed=frozenset(),
            denied=frozenset(fields),
            masks=MappingProxyType({}),
            scope="own",
            policy_hash=self.policy_hash,
            failure=failure,
        )
