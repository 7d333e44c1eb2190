"""The loader refuses every malformed policy file with its file, line and reason."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from core.errors import PolicyFileError
from policies.loader import load_policy_set, policy_hash

GOOD_POLICY = "p, sales, service, customer, email, read, allow, full, own"

# (file, appended line, fragment of the reason).  Each line is appended at the end of a
# copy of the shipped file, so the expected line number is the file's last line.
APPENDED = [
    # a role name with a typo
    ("policy.csv", "p, slaes, service, customer, email, read, allow, full, own", "unknown role 'slaes'"),
    # a purpose outside the vocabulary
    ("policy.csv", "p, sales, advertising, customer, email, read, allow, full, own", "unknown purpose"),
    # a resource outside the vocabulary
    ("policy.csv", "p, sales, service, customers, email, read, allow, full, own", "unknown resource"),
    # a field misspelt
    ("policy.csv", "p, sales, service, customer, emial, read, allow, full, own", "unknown field 'emial'"),
    # a field of another resource
    ("policy.csv", "p, sales, service, customer, body, read, allow, full, own", "unknown field 'body'"),
    # an action the resource does not have
    ("policy.csv", "p, sales, service, note, erase, read, allow, full, own", "unknown field 'erase'"),
    ("policy.csv", "p, sales, service, note, body, erase, allow, -, own", "unknown action 'erase'"),
    # an effect other than allow/deny
    ("policy.csv", "p, sales, service, customer, email, read, permit, full, own", "unknown effect"),
    # a mask misspelt
    ("policy.csv", "p, sales, service, customer, email, read, allow, partal, own", "unknown mask 'partal'"),
    # a scope misspelt
    ("policy.csv", "p, sales, service, customer, email, read, allow, full, team", "unknown scope 'team'"),
    # a missing column
    ("policy.csv", "p, sales, service, customer, email, read, allow, full", "expected 9 columns"),
    # an extra column
    ("policy.csv", GOOD_POLICY + ", extra", "expected 9 columns"),
    # a role assignment in the wrong file
    ("policy.csv", "g, alice, sales, x, y, z, allow, full, own", "start with 'p'"),
    # the same rule twice
    ("policy.csv", "p, sales, service, customer, email, read, allow, full, own", "duplicate of line"),
    # the same key with a different mask
    ("policy.csv", "p, sales, service, customer, email, read, allow, partial, own", "conflicts with line"),
    # the same key, allow and deny at once
    ("policy.csv", "p, sales, service, customer, email, read, deny, -, -", "conflicts with line"),
    # a deny with a mask
    ("policy.csv", "p, sales, service, customer, pseudonym, read, deny, full, own", "deny rule takes '-'"),
    # a write with a mask
    ("policy.csv", "p, sales, service, customer, owner, write, allow, full, own", "returns no values"),
    # own rows of a resource without an owner
    ("policy.csv", "p, sales, service, audit, events, read, allow, full, own", "scope 'own' needs rows"),
    # quoting or Casbin syntax in a name
    ("policy.csv", 'p, sales, service, customer, "email", read, allow, full, own', "not a valid name"),
    # an inline comment
    (
        "policy.csv",
        "p, sales, service, customer, pseudonym, read, allow, full, own # why",
        "not a valid name",
    ),
    # a role unknown to the policy
    ("roles.csv", "g, erin, auditor", "unknown role 'auditor'"),
    # a missing column
    ("roles.csv", "g, erin", "expected 3 columns"),
    # a policy line in the wrong file
    ("roles.csv", "p, erin, sales", "start with 'g'"),
    # the same assignment twice
    ("roles.csv", "g, alice, sales", "duplicate of line"),
    # a role used as a subject (role inheritance is not allowed)
    ("roles.csv", "g, sales, admin", "is a role name"),
    # a subject with characters outside the allowed set
    ("roles.csv", "g, eve smith, sales", "subject must be"),
    # a second model section
    ("model.conf", "[matchers]", "appears twice"),
    # an unknown model section
    ("model.conf", "[extra]", "unknown section"),
]


def _check(exc: Any, path: Path, line: int, fragment: str) -> None:
    assert isinstance(exc, PolicyFileError)
    assert exc.path == str(path)
    assert exc.line == line
    assert fragment in exc.reason
    assert str(exc) == f"{path}:{line}: {exc.reason}"


@pytest.mark.parametrize(("name", "line", "fragment"), APPENDED, ids=[f"{n}:{f}" for n, _, f in APPENDED])
def test_appended_typo_names_file_and_line(
    policy_copy: Path, edit: Any, name: str, line: str, fragment: str
) -> None:
    path = policy_copy / name
    number = edit.append_line(path, line)
    with pytest.raises(PolicyFileError) as info:
        load_policy_set(policy_copy)
    _check(info.value, path, number, fragment)


# model.conf lines replaced: (start of the line, replacement, fragment).  Each would weaken
# or break enforcement, so the fixed model refuses it.
MODEL_EDITS = [
    # allow-override: a single allow would beat an explicit deny
    ("e =", "e = some(where (p.eft == allow))", "differs from the hushdb model"),
    # a matcher that matches everything
    ("m =", "m = true", "differs from the hushdb model"),
    # a matcher that ignores the purpose
    ("m =", "m = g(r.sub, p.sub) && r.res == p.res && r.fld == p.fld && r.act == p.act", "differs"),
    # a request without purpose
    ("r =", "r = sub, res, fld, act", "differs"),
    # garbage
    ("p =", "p sub, pur", "expected 'key = value'"),
    # an unknown key
    ("g =", "g2 = _, _", "unknown key 'g2'"),
]


@pytest.mark.parametrize(("start", "new", "fragment"), MODEL_EDITS, ids=[new for _, new, _ in MODEL_EDITS])
def test_model_edit_is_refused(policy_copy: Path, edit: Any, start: str, new: str, fragment: str) -> None:
    path = policy_copy / "model.conf"
    number = edit.replace_line(path, start, new)
    with pytest.raises(PolicyFileError) as info:
        load_policy_set(policy_copy)
    _check(info.value, path, number, fragment)


def test_model_whitespace_and_comments_may_change(policy_copy: Path, edit: Any) -> None:
    path = policy_copy / "model.conf"
    edit.replace_line(path, "e =", "e=some(where(p.eft==allow))&&!some(where(p.eft==deny))")
    edit.append_line(path, "# a comment at the end")
    load_policy_set(policy_copy)


def test_missing_matcher_is_refused(policy_copy: Path) -> None:
    path = policy_copy / "model.conf"
    text = path.read_text(encoding="utf-8")
    path.write_text(re.sub(r"(?m)^m = .*$", "", text), encoding="utf-8")
    with pytest.raises(PolicyFileError) as info:
        load_policy_set(policy_copy)
    _check(info.value, path, 0, "[matchers] m is missing")


@pytest.mark.parametrize("name", ["model.conf", "policy.csv", "roles.csv"])
def test_missing_file_is_refused(policy_copy: Path, name: str) -> None:
    (policy_copy / name).unlink()
    with pytest.raises(PolicyFileError) as info:
        load_policy_set(policy_copy)
    _check(info.value, policy_copy / name, 0, "missing")


def test_non_utf8_file_is_refused(policy_copy: Path) -> None:
    path = policy_copy / "roles.csv"
    path.write_bytes(path.read_bytes() + b"g, \xff\xfe, sales\n")
    with pytest.raises(PolicyFileError) as info:
        load_policy_set(policy_copy)
    _check(info.value, path, 0, "not UTF-8")


def test_unknown_policy_file_is_refused(policy_copy: Path) -> None:
    """A masks.csv would look like it is in force; it is refused instead of ignored."""
    stray = policy_copy / "masks.csv"
    stray.write_text("email, partial\n", encoding="utf-8")
    with pytest.raises(PolicyFileError) as info:
        load_policy_set(policy_copy)
    _check(info.value, stray, 0, "unknown policy file")


def test_missing_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PolicyFileError):
        load_policy_set(tmp_path / "nowhere")


def test_shipped_files_load(shipped_dir: Path) -> None:
    policy = load_policy_set(shipped_dir)
    assert re.fullmatch(r"[0-9a-f]{64}", policy.policy_hash)
    assert policy.subjects() == {
        "alice": {"sales"},
        "bob": {"sales"},
        "mailer": {"mailmerge"},
        "cora": {"compliance"},
        "ana": {"analyst"},
        "dana": {"dpo"},
        "adm": {"admin"},
    }


def test_hash_is_over_names_and_bytes_of_all_files(policy_copy: Path, edit: Any) -> None:
    before = load_policy_set(policy_copy).policy_hash
    assert load_policy_set(policy_copy).policy_hash == before  # deterministic
    (policy_copy / "README.md").write_text("docs do not count\n", encoding="utf-8")
    assert load_policy_set(policy_copy).policy_hash == before
    hashes = {before}
    for name in ("model.conf", "policy.csv", "roles.csv"):
        edit.append_line(policy_copy / name, "# a comment changes the bytes")
        hashes.add(load_policy_set(policy_copy).policy_hash)
    assert len(hashes) == 4


def test_hash_binds_contents_to_names() -> None:
    """Moving bytes from one file to another changes the hash (names are hashed, lengths framed)."""
    assert policy_hash({"a": b"xy", "b": b""}) != policy_hash({"a": b"x", "b": b"y"})
    assert policy_hash({"a": b"x"}) != policy_hash({"b": b"x"})
    assert policy_hash({"b": b"2", "a": b"1"}) == policy_hash({"a": b"1", "b": b"2"})
