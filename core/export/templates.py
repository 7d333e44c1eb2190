"""Letter templates: Jinja2 in a sandbox, checked against the merge fields before a run.

A template may use only the merge fields of the job (``--fields``), by the
customer schema's names (``{{ full_name }}``, ``{{ city }}``).  Anything else
is refused before any output, naming the template line.  Rendering uses
:class:`jinja2.sandbox.SandboxedEnvironment` (no attribute games, no access to
Python internals) and :class:`jinja2.StrictUndefined` (a missing value is an
error, never an empty string that hides a mistake).

Letters are flat text with fields and conditions, so the language is narrowed
further to keep one template from exhausting the server: no loops, macros or
calls, no globals (``range``, ``lipsum`` ...), an allow-list of filters, capped
``*`` and ``**``, and a cap on the size of each rendered letter.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import jinja2
from jinja2 import meta, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from core.errors import InputError

MAX_TEMPLATE_CHARS = 100_000
MAX_LETTER_CHARS = 200_000
MAX_REPEAT = 1_000
MAX_EXPONENT = 64
MAX_BASE = 1_000_000
ALLOWED_FILTERS = frozenset(
    {
        "upper",
        "lower",
        "title",
        "capitalize",
        "trim",
        "default",
        "d",
        "e",
        "escape",
        "string",
        "length",
        "first",
        "last",
    }
)
_FORBIDDEN_NODES: tuple[tuple[type[nodes.Node], str], ...] = (
    (nodes.For, "a loop"),
    (nodes.Macro, "a macro"),
    (nodes.CallBlock, "a call block"),
    (nodes.Call, "a function call"),
    (nodes.Import, "an import"),
    (nodes.FromImport, "an import"),
    (nodes.Include, "an include"),
    (nodes.Extends, "extends"),
)


class LetterEnvironment(SandboxedEnvironment):
    """The sandbox with ``*`` and ``**`` bounded (``"x" * 10**9`` would exhaust memory)."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(
        self, context: jinja2.runtime.Context, operator: str, left: object, right: object
    ) -> object:
        if operator == "**":
            small_base = isinstance(left, int | float) and abs(left) <= MAX_BASE
            if not isinstance(right, int) or abs(right) > MAX_EXPONENT or not small_base:
                raise SecurityError("exponent too large for a letter")
        elif operator == "*":
            for seq, n in ((left, right), (right, left)):
                if (
                    isinstance(seq, str | list | tuple)
                    and isinstance(n, int)
                    and n * max(len(seq), 1) > MAX_REPEAT
                ):
                    raise SecurityError("repetition too large for a letter")
        return super().call_binop(context, operator, left, right)


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
        self._env = LetterEnvironment(
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            keep_trailing_newline=True,
            auto_reload=False,
        )
        self._env.globals.clear()  # no range(), lipsum(), cycler(), ...
        try:
            ast = self._env.parse(source)
            _check_constructs(ast)
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
            letter = self._template.render(values)
        except jinja2.TemplateError as exc:
            line = _error_line(exc)
            raise InputError(f"template line {line}: {type(exc).__name__}") from exc
        if len(letter) > MAX_LETTER_CHARS:
            raise InputError(f"a rendered letter is longer than {MAX_LETTER_CHARS} characters")
        return letter


def _check_constructs(ast: nodes.Template) -> None:
    """Refuse what a letter does not need and a template could use to exhaust the server."""
    for node_type, what in _FORBIDDEN_NODES:
        for node in ast.find_all(node_type):
            raise InputError(f"template line {node.lineno} uses {what}, which letters may not use")
    for flt in ast.find_all(nodes.Filter):
        if flt.name not in ALLOWED_FILTERS:
            raise InputError(
                f"template line {flt.lineno} uses the filter {flt.name}, which letters may not use"
            )


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
