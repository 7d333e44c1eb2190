"""Letter templates: Jinja2 in a sandbox, checked against the merge fields before a run.

A template may use only the merge fields of the job (``--fields``), by the
customer schema's names (``{{ full_name }}``, ``{{ city }}``).  Anything else
is refused before any output, naming the template line.  Rendering uses
:class:`jinja2.sandbox.SandboxedEnvironment` (no attribute games, no access to
Python internals) and :class:`jinja2.StrictUndefined` (a missing value is an
error, never an empty string that hides a mistake).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import jinja2
from jinja2 import meta, nodes
from jinja2.sandbox import SandboxedEnvironment

from core.errors import InputError

MAX_TEMPLATE_CHARS = 100_000


@dataclass(frozen=True, slots=True)
class TemplateName:
    """A variable the template reads and the first line that reads it."""

    name: str
    line: int


class LetterTemplate:
    """A compiled, checked letter template."""

    def __init__(self, source: str, *, name: str = "template") -> None:
        if len(source) > MAX_TEMPLATE_CHARS:
            raise InputError(f"template is longer than {MAX_TEMPLATE_CHARS} characters")
        self.source = source
        self.name = name
        self.sha256 = hashlib.sha256(source.encode("utf-8")).hexdigest()
        self._env = SandboxedEnvironment(
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            keep_trailing_newline=True,
            auto_reload=False,
        )
        try:
            ast = self._env.parse(source)
            self._template = self._env.from_string(ast)
        except jinja2.TemplateSyntaxError as exc:
            raise InputError(f"template line {exc.lineno}: {exc.message}") from exc
        self.names = _names_with_lines(ast)

    def check_fields(self, fields: Sequence[str]) -> None:
        """Every variable the template reads must be a merge field of this job."""
        allowed = set(fields)
        for var in self.names:
            if var.name not in allowed:
                raise InputError(f"template line {var.line} uses {var.name}, which is not in --fields")

    def render(self, values: Mapping[str, str]) -> str:
        try:
            return self._template.render(values)
        except jinja2.TemplateError as exc:
            line = _error_line(exc)
            raise InputError(f"template line {line}: {type(exc).__name__}") from exc


def _names_with_lines(ast: nodes.Template) -> tuple[TemplateName, ...]:
    undeclared = meta.find_undeclared_variables(ast)
    first: dict[str, int] = {}
    for node in ast.find_all(nodes.Name):
        if node.ctx == "load" and node.name in undeclared:
            first[node.name] = min(first.get(node.name, node.lineno), node.lineno)
    return tuple(sorted((TemplateName(n, line) for n, line in first.items()), key=lambda v: (v.line, v.name)))


def _error_line(exc: jinja2.TemplateError) -> int | str:
    lineno = getattr(exc, "lineno", None)
    return lineno if isinstance(lineno, int) else "?"
