"""Authorizer behaviour: deny wins, unknown subjects, purposes, the plan cache, fail-to-deny."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from core.errors import InputError, InvalidPurposeError, UnknownSubjectError
from policies.authorizer import Authorizer
from policies.decider import CasbinDecider, EnforcerLike, RecordingDecider, Verdict, build_enforcer
from policies.loader import load_policy_set


class CountingEnforcer:
    """Wraps a real Casbin enforcer and counts its enforce_ex calls."""

    def __init__(self, inner: EnforcerLike) -> None:
        self.inner = inner
        self.enabled = True
        self.calls: list[tuple[str, ...]] = []

    def enforce_ex(self, *rvals: str) -> tuple[bool, Sequence[str]]:
        self.calls.append(rvals)
        return self.inner.enforce_ex(*rvals)


def _counting(policy_dir: Path) -> tuple[Authorizer, CountingEnforcer]:
    policy = load_policy_set(policy_dir)
    enforcer = CountingEnforcer(build_enforcer(policy))
    return Authorizer(policy=policy, decider=CasbinDecider(enforcer=enforcer)), enforcer


def _read(
    auth: Authorizer, subject: str, roles: set[str], purpose: str, resource: str, fields: list[str]
) -> Any:
    return auth.plan(
        subject=subject,
        roles=frozenset(roles),
        purpose=purpose,
        resource=resource,
        action="read",
        fields=fields,
    )


# --- deny wins -------------------------------------------------------------------------


def test_explicit_deny_beats_a_wildcard_allow(policy_copy: Path, edit: Any) -> None:
    edit.append_line(policy_copy / "policy.csv", "p, mailmerge, marketing, note, *, read, allow, full, all")
    auth = Authorizer.load(policy_copy)
    plan = _read(auth, "mailer", {"mailmerge"}, "marketing", "note", ["body", "findings"])
    assert plan.allowed == {"findings"}
    assert plan.denied == {"body"}
    assert plan.decision == "partial"


def test_deny_of_one_role_beats_allow_of_another(policy_copy: Path, edit: Any) -> None:
    edit.append_line(policy_copy / "policy.csv", "p, sales, marketing, note, body, read, allow, full, all")
    auth = Authorizer.load(policy_copy)
    assert _read(auth, "x", {"sales"}, "marketing", "note", ["body"]).decision == "allow"  # control
    assert _read(auth, "x", {"sales", "mailmerge"}, "marketing", "note", ["body"]).decision == "deny"


def test_deny_by_default(authorizer: Authorizer) -> None:
    assert _read(authorizer, "alice", {"sales"}, "marketing", "customer", ["email"]).decision == "deny"
    assert _read(authorizer, "alice", set(), "service", "customer", ["email"]).decision == "deny"
    assert _read(authorizer, "alice", {"superuser"}, "service", "customer", ["email"]).decision == "deny"


def test_roles_combine_scope_and_mask_safely(policy_copy: Path, edit: Any) -> None:
    """sales grants email full on own rows; this extra rule grants it partial on all rows."""
    edit.append_line(
        policy_copy / "policy.csv", "p, compliance, service, customer, email, read, allow, partial, all"
    )
    auth = Authorizer.load(policy_copy)
    both = {"sales", "compliance"}
    email_only = _read(auth, "alice", both, "service", "customer", ["email"])
    assert (email_only.scope, dict(email_only.masks)) == ("all", {"email": "partial"})
    # phone is granted for own rows only, so the whole plan is own rows, where email is full.
    with_phone = _read(auth, "alice", both, "service", "customer", ["email", "phone"])
    assert (with_phone.scope, dict(with_phone.masks)) == ("own", {"email": "full", "phone": "full"})
    assert with_phone.owner_filter == "alice"


def test_unknown_names_are_denied_without_asking_casbin(shipped_dir: Path) -> None:
    auth, enforcer = _counting(shipped_dir)
    assert _read(auth, "dana", {"dpo"}, "erasure", "customer", ["ssn"]).denied == {"ssn"}
    assert _read(auth, "dana", {"dpo"}, "erasure", "customers", ["email"]).decision == "deny"
    plan = auth.plan(
        subject="dana",
        roles=frozenset({"dpo"}),
        purpose="erasure",
        resource="note",
        action="erase",
        fields=["body"],
    )
    assert plan.decision == "deny"
    assert enforcer.calls == []


# --- subjects and purposes -----------------------------------------------------------------


def test_unknown_subject_is_refused(authorizer: Authorizer) -> None:
    with pytest.raises(UnknownSubjectError):
        authorizer.roles_for("mallory")
    assert authorizer.roles_for("alice") == {"sales"}
    assert set(authorizer.subjects()) == {"alice", "bob", "mailer", "cora", "ana", "dana", "adm"}


@pytest.mark.parametrize("purpose", ["advertising", "", "Service", "*"])
def test_unknown_purpose_is_refused(authorizer: Authorizer, purpose: str) -> None:
    with pytest.raises(InvalidPurposeError):
        _read(authorizer, "alice", {"sales"}, purpose, "customer", ["email"])


@pytest.mark.parametrize("fields", [[], "email"])
def test_fields_must_be_a_non_empty_sequence(authorizer: Authorizer, fields: Any) -> None:
    with pytest.raises(InputError):
        _read(authorizer, "alice", {"sales"}, "service", "customer", fields)


# --- one Casbin call per (role, field) per distinct request ---------------------------------


def test_plan_cache_asks_casbin_once_per_role_and_field(shipped_dir: Path) -> None:
    auth, enforcer = _counting(shipped_dir)
    fields = ["email", "phone", "full_name"]
    first = _read(auth, "alice", {"sales"}, "service", "customer", fields)
    assert len(enforcer.calls) == 3
    assert {call[3] for call in enforcer.calls} == set(fields)
    for _ in range(100):  # the same request again: the cached plan, no Casbin call
        assert _read(auth, "alice", {"sales"}, "service", "customer", fields) is first
    assert len(enforcer.calls) == 3
    _read(auth, "bob", {"sales"}, "service", "customer", fields)  # another subject: another key
    assert len(enforcer.calls) == 6
    _read(auth, "alice", {"sales", "mailmerge"}, "service", "customer", fields)  # 2 roles x 3 fields
    assert len(enforcer.calls) == 12
    _read(auth, "alice", {"sales"}, "service", "customer", ["email", "email"])  # a repeated field: once
    assert len(enforcer.calls) == 13
    _read(auth, "alice", {"sales"}, "marketing", "customer", fields)  # another purpose
    assert len(enforcer.calls) == 16


def test_recording_decider_sees_each_role_field_pair_once(shipped_dir: Path) -> None:
    policy = load_policy_set(shipped_dir)
    recorder = RecordingDecider(inner=CasbinDecider.from_policy_set(policy))
    auth = Authorizer(policy=policy, decider=recorder)
    _read(auth, "x", {"sales", "compliance"}, "compliance", "customer", ["email", "owner"])
    _read(auth, "x", {"sales", "compliance"}, "compliance", "customer", ["email", "owner"])
    assert sorted(recorder.calls) == sorted(
        (role, "compliance", "customer", field, "read")
        for role in ("sales", "compliance")
        for field in ("email", "owner")
    )


# --- any exception while deciding is a deny ---------------------------------------------------


class ExplodingDecider:
    def __init__(self) -> None:
        self.calls = 0

    def decide(self, *, role: str, purpose: str, resource: str, field: str, action: str) -> Verdict:
        self.calls += 1
        raise RuntimeError("boom")


class LyingDecider:
    """Says allow to everything, although no rule grants it."""

    def decide(self, *, role: str, purpose: str, resource: str, field: str, action: str) -> Verdict:
        return Verdict.ALLOW


def test_exception_in_decider_denies_and_is_not_cached(shipped_dir: Path) -> None:
    decider = ExplodingDecider()
    auth = Authorizer(policy=load_policy_set(shipped_dir), decider=decider)
    plan = _read(auth, "alice", {"sales"}, "service", "customer", ["email", "phone"])
    assert plan.decision == "deny"
    assert plan.denied == {"email", "phone"}
    assert plan.failure == "RuntimeError"
    assert not plan.covers_row("alice")
    _read(auth, "alice", {"sales"}, "service", "customer", ["email", "phone"])
    assert decider.calls == 2  # a failed plan is not cached


def test_allow_without_a_granting_rule_denies(shipped_dir: Path) -> None:
    auth = Authorizer(policy=load_policy_set(shipped_dir), decider=LyingDecider())
    plan = _read(auth, "mailer", {"mailmerge"}, "marketing", "note", ["body"])
    assert plan.decision == "deny"
    assert plan.failure == "PolicyError"


def test_casbin_with_enforcement_switched_off_denies(shipped_dir: Path) -> None:
    """Casbin answers True to everything when disabled; hushdb refuses to use such an enforcer."""
    policy = load_policy_set(shipped_dir)
    enforcer = CountingEnforcer(build_enforcer(policy))
    enforcer.enabled = False
    auth = Authorizer(policy=policy, decider=CasbinDecider(enforcer=enforcer))
    plan = _read(auth, "mailer", {"mailmerge"}, "marketing", "customer", ["email"])
    assert plan.decision == "deny"
    assert plan.failure == "PolicyError"


def test_casbin_raising_while_enforcing_denies(shipped_dir: Path) -> None:
    """A real Casbin failure (a matcher calling an undefined function) while enforcing."""
    policy = load_policy_set(shipped_dir)
    broken_model = policy.model_text.replace("g(r.sub, p.sub)", "no_such_function(r.sub, p.sub)")
    broken = build_enforcer(dataclasses.replace(policy, model_text=broken_model))
    auth = Authorizer(policy=policy, decider=CasbinDecider(enforcer=broken))
    plan = _read(auth, "mailer", {"mailmerge"}, "marketing", "customer", ["email"])
    assert plan.decision == "deny"
    assert plan.failure == "FunctionNotDefined"


def test_no_code_switches_enforcement_off() -> None:
    root = Path(__file__).resolve().parents[2]
    pattern = re.compile(r"\.enable_enforce\s*\(")
    offenders = [
        str(path)
        for folder in ("policies", "api", "core", "audit")
        if (root / folder).is_dir()
        for path in (root / folder).rglob("*.py")
        if pattern.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
