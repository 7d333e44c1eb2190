"""Fixtures for the policy tests: the shipped policy, and a writable copy of it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from core.config import shipped_policy_dir
from policies.authorizer import Authorizer
from policies.loader import POLICY_FILES


@pytest.fixture(scope="session")
def shipped_dir() -> Path:
    return shipped_policy_dir()


@pytest.fixture(scope="session")
def authorizer(shipped_dir: Path) -> Authorizer:
    return Authorizer.load(shipped_dir)


@pytest.fixture
def policy_copy(tmp_path: Path, shipped_dir: Path) -> Path:
    """A copy of the shipped policy files (only them) in a fresh directory."""
    target = tmp_path / "policies"
    target.mkdir()
    for name in POLICY_FILES:
        shutil.copyfile(shipped_dir / name, target / name)
    return target


class Editor:
    """Edits policy files line by line (tests get it from the ``edit`` fixture)."""

    @staticmethod
    def append_line(path: Path, line: str) -> int:
        """Append ``line`` to ``path``; return its 1-based line number."""
        text = path.read_text(encoding="utf-8")
        if not text.endswith("\n"):
            text += "\n"
        text += line + "\n"
        path.write_text(text, encoding="utf-8")
        return len(text.splitlines())

    @staticmethod
    def replace_line(path: Path, startswith: str, new: str) -> int:
        """Replace the first line starting with ``startswith``; return its 1-based line number."""
        lines = path.read_text(encoding="utf-8").splitlines()
        for index, line in enumerate(lines):
            if line.startswith(startswith):
                lines[index] = new
                path.write_text("\n".join(lines) + "\n", encoding="utf-8")
                return index + 1
        raise AssertionError(f"no line starts with {startswith!r}")


@pytest.fixture
def edit() -> Editor:
    return Editor()
