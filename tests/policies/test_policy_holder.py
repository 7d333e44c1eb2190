"""Atomic reload: a broken file leaves the previous policy (and its hash) in force."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from core.errors import PolicyError, PolicyFileError
from policies.authorizer import Authorizer
from policies.holder import PolicyHolder


def _mailer_reads_phone(holder: PolicyHolder) -> str:
    return holder.current.plan(
        subject="mailer",
        roles=frozenset({"mailmerge"}),
        purpose="marketing",
        resource="customer",
        action="read",
        fields=["phone"],
    ).decision


def test_reload_of_unchanged_files_keeps_the_hash(policy_copy: Path) -> None:
    holder = PolicyHolder.load(policy_copy)
    result = holder.reload()
    assert result.ok
    assert not result.changed
    assert result.error is None
    assert result.policy_hash == result.previous_hash == holder.policy_hash


def test_reload_applies_a_valid_change(policy_copy: Path, edit: Any) -> None:
    holder = PolicyHolder.load(policy_copy)
    old_hash = holder.policy_hash
    assert _mailer_reads_phone(holder) == "deny"
    edit.append_line(
        policy_copy / "policy.csv", "p, mailmerge, marketing, customer, phone, read, allow, full, all"
    )
    result = holder.reload()
    assert result.ok
    assert result.changed
    assert result.previous_hash == old_hash
    assert result.policy_hash == holder.policy_hash != old_hash
    assert _mailer_reads_phone(holder) == "allow"


@pytest.mark.parametrize(
    ("name", "bad_line"),
    [
        # a typo that would otherwise grant the phone
        ("policy.csv", "p, mailmerge, marketing, customer, phone, read, allow, ful, all"),
        ("roles.csv", "g, erin, salse"),
        ("model.conf", "[nonsense]"),
    ],
)
def test_reload_with_a_broken_file_keeps_the_old_policy(
    policy_copy: Path, edit: Any, name: str, bad_line: str
) -> None:
    holder = PolicyHolder.load(policy_copy)
    before = holder.current
    old_hash = holder.policy_hash
    # a valid grant and a broken line in the same reload: nothing of it may apply
    edit.append_line(
        policy_copy / "policy.csv", "p, mailmerge, marketing, customer, phone, read, allow, full, all"
    )
    number = edit.append_line(policy_copy / name, bad_line)
    result = holder.reload()
    assert not result.ok
    assert not result.changed
    assert isinstance(result.error, PolicyFileError)
    assert (result.error.path, result.error.line) == (str(policy_copy / name), number)
    assert result.policy_hash == result.previous_hash == old_hash == holder.policy_hash
    assert holder.current is before
    assert _mailer_reads_phone(holder) == "deny"


def test_reload_survives_a_foreign_exception(policy_copy: Path) -> None:
    def exploding_loader(path: Path) -> Authorizer:
        raise OSError("disk gone")

    original = Authorizer.load(policy_copy)
    holder = PolicyHolder(authorizer=original, policy_dir=policy_copy, loader=exploding_loader)
    result = holder.reload()
    assert not result.ok
    assert isinstance(result.error, PolicyError)
    assert holder.current is original


def test_reload_after_a_fix_recovers(policy_copy: Path, edit: Any) -> None:
    holder = PolicyHolder.load(policy_copy)
    path = policy_copy / "roles.csv"
    good = path.read_text(encoding="utf-8")
    edit.append_line(path, "g, erin, salse")
    assert not holder.reload().ok
    path.write_text(good + "g, erin, sales\n", encoding="utf-8")
    assert holder.reload().ok
    assert holder.current.roles_for("erin") == {"sales"}


def test_first_load_of_a_broken_policy_raises(policy_copy: Path, edit: Any) -> None:
    edit.append_line(
        policy_copy / "policy.csv", "p, nobody, service, customer, email, read, allow, full, all"
    )
    with pytest.raises(PolicyFileError):
        PolicyHolder.load(policy_copy)


def test_the_reload_is_recorded_before_the_new_policy_takes_effect(policy_copy: Path, edit: Any) -> None:
    """If the record of a reload cannot be written, the new policy is not swapped in."""
    holder = PolicyHolder.load(policy_copy)
    old_hash = holder.policy_hash
    edit.append_line(
        policy_copy / "policy.csv", "p, mailmerge, marketing, customer, phone, read, allow, full, all"
    )
    seen: list[str] = []

    def failing_record(result: Any) -> None:
        seen.append(result.policy_hash)
        raise RuntimeError("audit log unavailable")

    with pytest.raises(RuntimeError):
        holder.reload(record=failing_record)
    assert seen and seen[0] != old_hash
    assert holder.policy_hash == old_hash and _mailer_reads_phone(holder) == "deny"
    recorded: list[Any] = []
    result = holder.reload(record=recorded.append)
    assert result.ok and result.changed and recorded == [result]
    assert holder.policy_hash == result.policy_hash and _mailer_reads_phone(holder) == "allow"


def test_a_refused_reload_is_recorded_too(policy_copy: Path, edit: Any) -> None:
    holder = PolicyHolder.load(policy_copy)
    edit.append_line(policy_copy / "roles.csv", "g, erin, operator")
    recorded: list[Any] = []
    result = holder.reload(record=recorded.append)
    assert not result.ok and recorded == [result]
    assert result.error is not None and "granted by hushdb itself" in result.error.message
