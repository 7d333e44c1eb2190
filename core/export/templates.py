"""Letter templates: Jinja2 in a sandbox, checked against the merge fields before a run.

A template may use only the merge fields of the job (``--fields``), by the
customer schema's names (``{{ full_name }}``, ``{{ city }}``).  Anything else
is refused before any output, naming the template line.  Rendering uses
:class:`jinja2.sandbox.SandboxedEnvironment` (no attribute games, no access to
Python internals) and :class:`jinja2.StrictUndefined` (a missing value is an
error, never an empty string that hides a mistake).

Letters are flat text with fields and conditions, so the language is narrowed
further to keep one template from exhausting the server: no loops, macros or
calls, no globals (``range``, ``lipsum`` ...), an allow-list of filters, and
container literals (``[...]``, ``(...)``, ``{...}``) only of constants or as
the arguments of ``%``, so no value nests deeper than the template text.

Rendering runs on a budget (:class:`RenderBudget`), checked BEFORE memory is
spent: every ``+ - * / // % **`` and ``~`` estimates the size of its result
from its operands (integers by bits, strings and lists by their rendered
length, ``%`` formats by their widths) and refuses one larger than
:data:`MAX_VALUE_CHARS` or :data:`MAX_INT_BITS`; every operation, filter and
printed value is charged to the letter's total (:data:`MAX_RENDER_CHARS`), so
many small steps cannot add up to gigabytes either; the letter itself is
capped at :data:`MAX_LETTER_CHARS` and the rendering at
:data:`MAX_RENDER_SECONDS`.  Going over any of them is a
:class:`TemplateBudgetError` (an :class:`~core.errors.InputError`: exit code 2
on the command line, 422 over HTTP) naming the template line.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Final

import jinja2
from jinja2 import meta, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError
from jinja2.runtime import str_join
from jinja2.sandbox import SandboxedEnvironment

from core.errors import InputError, TemplateBudgetError

MAX_TEMPLATE_CHARS: Final = 100_000
MAX_LETTER_CHARS: Final = 200_000
#: The largest string, list or formatted value one operation may produce (characters when printed).
MAX_VALUE_CHARS: Final = MAX_LETTER_CHARS
#: Everything one letter's rendering may produce, intermediate values and captured blocks included.
MAX_RENDER_CHARS: Final = 4 * MAX_LETTER_CHARS
#: The largest integer an operation may produce (about 154 decimal digits).
MAX_INT_BITS: Final = 512
#: The widest field or precision a ``%`` format may ask for.
MAX_FORMAT_WIDTH: Final = 1_000
MAX_RENDER_SECONDS: Final = 2.0
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
#: A float prints in at most this many characters with ``str``; ``%f`` of 1e308 needs 309 digits.
_FLOAT_CHARS: Final = 24
_FLOAT_FIXED_CHARS: Final = 320
_SCALAR_CHARS: Final = 64


class _OverBudget(SecurityError):
    """Raised inside the sandbox; :meth:`LetterTemplate.render` turns it into :class:`TemplateBudgetError`."""


@dataclass
class RenderBudget:
    """What one letter's rendering may still spend (characters, and a deadline)."""

    chars: int = MAX_RENDER_CHARS
    deadline: float = field(default_factory=lambda: time.monotonic() + MAX_RENDER_SECONDS)

    def charge(self, size: int, what: str) -> None:
        if size > MAX_VALUE_CHARS:
            raise _OverBudget(f"{what} would be longer than {MAX_VALUE_CHARS} characters")
        self.chars -= size
        if self.chars < 0:
            raise _OverBudget(f"the letter would produce more than {MAX_RENDER_CHARS} characters in all")
        if time.monotonic() > self.deadline:
            raise _OverBudget(f"rendering took longer than {MAX_RENDER_SECONDS:g} s")


_active = threading.local()


def _budget() -> RenderBudget:
    budget: RenderBudget | None = getattr(_active, "budget", None)
    if budget is None:  # compile-time constant folding: constants are bounded by the template's size
        return RenderBudget()
    return budget


def rendered_size(value: object, limit: int = MAX_VALUE_CHARS) -> int:
    """The length of ``str(value)``, estimated without building it; stops counting past ``limit``.

    Each element counts at least one character, so the walk itself costs at most ``limit`` steps
    even for a list that holds itself many times over.
    """
    total = 0
    stack: list[object] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            total += len(item) + 2  # quotes, when inside a container
        elif isinstance(item, bool) or item is None:
            total += 5
        elif isinstance(item, int):
            total += item.bit_length() * 3 // 10 + 2
        elif isinstance(item, float):
            total += _FLOAT_CHARS
        elif isinstance(item, list | tuple | set | frozenset):
            total += 2
            stack.extend(item)
        elif isinstance(item, dict):
            total += 2
            for key, val in item.items():
                stack.append(key)
                stack.append(val)
        else:
            total += _SCALAR_CHARS
        if total > limit:
            return total
    return total


def _int_bits(value: object) -> int:
    return value.bit_length() if isinstance(value, int) else 0


def _check_int(bits: int, what: str) -> None:
    if bits > MAX_INT_BITS:
        raise _OverBudget(f"{what} would be a number of more than {MAX_INT_BITS} bits")


def _format_size(fmt: str, args: object) -> int:
    """An upper bound on ``len(fmt % args)``, from the format's own widths and precisions."""
    n_args = len(args) if isinstance(args, tuple) else 1
    specs = 0
    widths = 0
    i = 0
    while True:
        i = fmt.find("%", i)
        if i < 0:
            break
        i += 1
        if i < len(fmt) and fmt[i] == "(":
            close = fmt.find(")", i)
            i = close + 1 if close >= 0 else len(fmt)
        while i < len(fmt) and fmt[i] in "#0- +":
            i += 1
        for _part in ("width", "precision"):
            if _part == "precision":
                if i < len(fmt) and fmt[i] == ".":
                    i += 1
                else:
                    break
            if i < len(fmt) and fmt[i] == "*":
                raise _OverBudget("a % format with a * width or precision")
            digits_start = i
            while i < len(fmt) and fmt[i].isdigit():
                i += 1
            digits = fmt[digits_start:i]
            if len(digits) > 6 or (digits and int(digits) > MAX_FORMAT_WIDTH):
                raise _OverBudget(f"a % format wider than {MAX_FORMAT_WIDTH} characters")
            widths += int(digits) if digits else 0
        specs += 1
        i += 1  # the length modifier or conversion character (approximate: bounded either way)
    return len(fmt) + widths + (specs + n_args) * _FLOAT_FIXED_CHARS + rendered_size(args)


def _result_size(operator: str, left: object, right: object) -> int:
    """The size of ``left <operator> right``, refused before it is computed if it would be too large."""
    if isinstance(left, int | float) and isinstance(right, int | float):
        lbits, rbits = _int_bits(left), _int_bits(right)
        _check_int(max(lbits, rbits), "an operand")
        if operator == "**":
            if isinstance(right, int) and right > 0 and isinstance(left, int):
                _check_int(math.ceil(right * math.log2(abs(left))) + 1 if abs(left) > 1 else 1, "a power")
            elif isinstance(right, int) and abs(right) > MAX_INT_BITS:
                raise _OverBudget(f"an exponent larger than {MAX_INT_BITS}")
        elif operator == "*":
            _check_int(lbits + rbits, "a product")
        elif operator in "+-":
            _check_int(max(lbits, rbits) + 1, "a sum")
        return rendered_size(left) + rendered_size(right)
    if operator == "%" and isinstance(left, str):
        return _format_size(left, right)
    if operator == "*":
        for seq, n in ((left, right), (right, left)):
            if isinstance(seq, str | list | tuple) and isinstance(n, int):
                if n > MAX_VALUE_CHARS:
                    raise _OverBudget(f"a repetition would be longer than {MAX_VALUE_CHARS} characters")
                return rendered_size(seq) * max(n, 0)
    return rendered_size(left) + rendered_size(right)


class LetterEnvironment(SandboxedEnvironment):
    """The sandbox with every arithmetic operator, ``~``, filter and printed value on a budget."""

    intercepted_binops = frozenset({"+", "-", "*", "/", "//", "%", "**"})

    def __init__(self, **options: Any) -> None:
        super().__init__(finalize=self._finalize, **options)
        self.code_generator_class = _LetterCodeGenerator
        for name in ALLOWED_FILTERS:
            self.filters[name] = _budgeted_filter(name, self.filters[name])

    def call_binop(
        self, context: jinja2.runtime.Context, operator: str, left: object, right: object
    ) -> object:
        _budget().charge(_result_size(operator, left, right), "a value")
        try:
            return super().call_binop(context, operator, left, right)
        except (ArithmeticError, TypeError, ValueError) as exc:  # 1/0, "a" - 1: a template error, not a crash
            raise jinja2.TemplateRuntimeError(f"{type(exc).__name__} in {operator}") from exc

    def budgeted_concat(self, values: tuple[object, ...]) -> str:
        """``a ~ b ~ c``: refused before the joined string is built if it would be too long."""
        _budget().charge(sum(rendered_size(v) for v in values), "a ~ concatenation")
        return str_join(values)

    @staticmethod
    def _finalize(value: object) -> object:
        """Every printed value is charged to the letter's budget before it is turned into text."""
        _budget().charge(rendered_size(value), "a printed value")
        return value


class _LetterCodeGenerator(CodeGenerator):
    """Compiles ``~`` to :meth:`LetterEnvironment.budgeted_concat` (Jinja joins strings directly otherwise)."""

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        if frame.eval_ctx.autoescape or frame.eval_ctx.volatile:  # not used by letters (autoescape off)
            super().visit_Concat(node, frame)
            return
        self.write("environment.budgeted_concat((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


def _budgeted_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    def budgeted(*args: Any, **kwargs: Any) -> Any:
        _budget().charge(sum(rendered_size(a) for a in args if not _is_runtime(a)), f"the filter {name}")
        return func(*args, **kwargs)

    for attr in ("jinja_pass_arg",):  # pass_context / pass_eval_context / pass_environment markers
        if hasattr(func, attr):
            setattr(budgeted, attr, getattr(func, attr))
    budgeted.__name__ = getattr(func, "__name__", name)
    return budgeted


def _is_runtime(value: object) -> bool:
    return isinstance(value, jinja2.Environment | jinja2.runtime.Context | nodes.EvalContext)


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
        except ValueError as exc:  # an integer literal too long for int() (more than 4300 digits)
            raise InputError("template holds a number too long for a letter") from exc
        self.names = _names_with_lines(ast)

    def check_fields(self, fields: Sequence[str]) -> None:
        """Every variable the template reads must be a merge field of this job."""
        allowed = set(fields)
        for var in self.names:
            if var.name not in allowed:
                raise InputError(f"template line {var.line} uses {var.name}, which is not in --fields")

    def render(self, values: Mapping[str, str]) -> str:
        budget = RenderBudget()
        _active.budget = budget
        parts: list[str] = []
        size = 0
        try:
            for part in self._template.generate(values):
                size += len(part)
                if size > MAX_LETTER_CHARS:
                    raise TemplateBudgetError(
                        f"a rendered letter is longer than {MAX_LETTER_CHARS} characters"
                    )
                parts.append(part)
        except _OverBudget as exc:
            line = _template_line(exc.__traceback__)
            raise TemplateBudgetError(
                f"template line {line}: over the letter budget: {exc.message}"
            ) from None
        except jinja2.TemplateError as exc:
            line = _error_line(exc)
            if line == "?":
                line = _template_line(exc.__traceback__)
            raise InputError(f"template line {line}: {type(exc).__name__}") from exc
        except (ArithmeticError, TypeError, ValueError, LookupError) as exc:  # e.g. "a" ~ x where x fails
            raise InputError(
                f"template line {_template_line(exc.__traceback__)}: {type(exc).__name__}"
            ) from exc
        finally:
            _active.budget = None
        return "".join(parts)


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
    format_args = {id(n.right) for n in ast.find_all(nodes.Mod)}
    for literal in ast.find_all((nodes.List, nodes.Tuple, nodes.Dict)):
        if getattr(literal, "ctx", "load") != "load" or id(literal) in format_args:
            continue
        if not all(
            isinstance(n, nodes.Const | nodes.Pair | nodes.List | nodes.Tuple | nodes.Dict)
            for n in literal.find_all(nodes.Expr)
        ):
            raise InputError(
                f"template line {literal.lineno} builds a list from variables, which letters may not do"
            )


def _names_with_lines(ast: nodes.Template) -> tuple[TemplateName, ...]:
    undeclared = meta.find_undeclared_variables(ast)
    first: dict[str, int] = {}
    for node in ast.find_all(nodes.Name):
        if node.ctx == "load" and node.name in undeclared:
            first[node.name] = min(first.get(node.name, node.lineno), node.lineno)
    return tuple(sorted((TemplateName(n, line) for n, line in first.items()), key=lambda v: (v.line, v.name)))


def _template_line(tb: TracebackType | None) -> int | str:
    """The template line of the innermost template frame (Jinja rewrites tracebacks to template lines)."""
    line: int | str = "?"
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _error_line(exc: jinja2.TemplateError) -> int | str:
    lineno = getattr(exc, "lineno", None)
    return lineno if isinstance(lineno, int) else "?"
