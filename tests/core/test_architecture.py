"""Invariant 1, made visible: plaintext leaves the store only through the gateway.

An AST scan of every module of hushdb's packages fails if a module other than the
gateway and the store imports the field cipher (``FieldCipher``, ``ColumnsDecryptor``)
or unwraps a data key (``.unwrap(...)``, i.e. ``KeyRing.unwrap``).  The modules that
handle wrapped keys without decrypting data (key ring, key store, rotation, backups)
are allowed by name, each with the reason.  Services decide through
:mod:`core.governance`; role checks by set equality are gone (a policy question each).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("core", "api", "audit", "policies")
CIPHER_NAMES = frozenset({"FieldCipher", "ColumnsDecryptor"})

# module (path relative to the repository) -> why it may touch the cipher or unwrap keys
ALLOWED: dict[str, str] = {
    "core/gateway.py": "the read path: decrypts only the fields a plan allows, audited",
    "core/store.py": "the write path: encrypts what is stored (and re-encrypts note analyses)",
    "core/crypto.py": "defines the cipher",
    "core/keys.py": "defines KeyRing.unwrap (key material only)",
    "core/keystore.py": "stores wrapped data keys (key material only, no data)",
    "core/rotation.py": "re-wraps data keys under a new key version (no data is decrypted)",
}
ALLOWED_DIRS: dict[str, str] = {
    "core/backup/": "backups copy wrapped keys and ciphertext (no data is decrypted)",
}


def _modules() -> Iterator[Path]:
    for package in PACKAGES:
        yield from sorted((ROOT / package).rglob("*.py"))


def _allowed(rel: str) -> bool:
    return rel in ALLOWED or any(rel.startswith(d) for d in ALLOWED_DIRS)


def _violations(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            names = {alias.name for alias in node.names}
            if names & CIPHER_NAMES:
                found.append(f"line {node.lineno}: imports {', '.join(sorted(names & CIPHER_NAMES))}")
        elif isinstance(node, ast.Attribute):
            if node.attr in CIPHER_NAMES:
                found.append(f"line {node.lineno}: uses .{node.attr}")
            elif node.attr == "unwrap":
                found.append(f"line {node.lineno}: unwraps a data key (.unwrap)")
        elif isinstance(node, ast.Name) and node.id in CIPHER_NAMES:
            found.append(f"line {node.lineno}: names {node.id}")
    return found


def test_only_the_gateway_and_the_store_decrypt() -> None:
    offenders = {}
    for path in _modules():
        rel = path.relative_to(ROOT).as_posix()
        if _allowed(rel):
            continue
        found = _violations(ast.parse(path.read_text(encoding="utf-8"), filename=rel))
        if found:
            offenders[rel] = found
    assert not offenders, f"plaintext outside the gateway: {offenders}"


def test_the_scan_catches_each_kind_of_side_door() -> None:
    """The scanner itself: each way of reaching plaintext is reported (so the test above can fail)."""
    samples = {
        "from core.crypto import FieldCipher": "imports FieldCipher",
        "from core.crypto import ColumnsDecryptor as D": "imports ColumnsDecryptor",
        "import core.crypto\ncore.crypto.FieldCipher(b'', table='t', row_id='r', key_version=1)": ".FieldCipher",
        "key = gateway.keyring.unwrap(cid, wrapped, 1)": ".unwrap",
        "unwrap = self.keyring.unwrap": ".unwrap",
    }
    for source, expected in samples.items():
        found = _violations(ast.parse(source))
        assert any(expected in f for f in found), (source, found)
    assert _violations(ast.parse("from core.gateway import Gateway\nGateway.read_customer")) == []


def test_no_role_check_by_set_equality() -> None:
    """Privileged paths ask the policy (role ``operator``/``system``), never compare role sets."""
    offenders = []
    for path in _modules():
        rel = path.relative_to(ROOT).as_posix()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=rel)):
            if isinstance(node, ast.Compare) and any(isinstance(op, ast.Eq | ast.NotEq) for op in node.ops):
                sides = [node.left, *node.comparators]
                if any(isinstance(s, ast.Attribute) and s.attr == "roles" for s in sides) and any(
                    isinstance(s, ast.Call) and getattr(s.func, "id", "") == "frozenset" for s in sides
                ):
                    offenders.append(f"{rel}:{node.lineno}")
    assert not offenders, f"role checks by set equality: {offenders}"


def test_services_decide_through_governance() -> None:
    """No module builds a hard-coded privileged context: hushdb's own reads use core.governance."""
    offenders = []
    for path in _modules():
        rel = path.relative_to(ROOT).as_posix()
        if rel == "core/governance.py":
            continue
        text = path.read_text(encoding="utf-8")
        hard_coded = 'roles=frozenset({"system"})' in text or "roles=frozenset({OPERATOR_ROLE})" in text
        # the composition root grants the key file holder its role; nothing else builds one
        if hard_coded and rel != "api/wiring.py":
            offenders.append(rel)
    assert not offenders, offenders
