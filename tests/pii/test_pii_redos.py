"""Every regular expression that can see user text runs in linear time.

The patterns are collected, not listed: every compiled pattern held at module
level (directly or in a tuple, list, dict or dataclass) by any module of
``core``, ``api``, ``audit`` and ``policies``, and every pattern held by a
recognizer of the analyser's registry (hushdb's rules, Presidio's predefined
``PatternRecognizer`` regexes, compiled with ``regex`` and their own flags, and
patterns recognizers build at run time).  A new pattern is therefore fuzzed
without anyone adding it here.

Each pattern runs ``finditer`` over adversarial families (repeated separators,
nested repeats, long digit and letter runs, near-miss e-mails, ``x dot``
repeats, mixed CJK ...) and over units drawn by hypothesis, at sizes growing
from 20 characters to 20,480 (the note size limit): the time may grow by at
most :data:`RATIO` per eightfold growth of the input, where linear work grows by
8 and quadratic by 64.  The ladder doubles at first, so that an exponential
pattern fails on a short input instead of hanging the suite.  Wall-clock thresholds
alone are not the test; the worst-case note figure is in ``bench/pii.py``.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import math
import pkgutil
import re
import time
from collections.abc import Iterator
from functools import cache
from types import ModuleType
from typing import Any

import pytest
import regex
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import api
import audit
import core
import policies
from api.cli.pii import pii_app

#: Allowed growth of the match time per eightfold growth of the input (linear: 8, quadratic: 64).
RATIO = 32.0
#: Allowed growth per doubling on the short inputs (exponential: far more; a bounded window may give 4).
DOUBLING_RATIO = 6.0
#: Times below this are noise (timer, call overhead): growth is measured from this floor.
FLOOR = 50e-6
#: Doubling first, so an exponential pattern fails on a short input instead of hanging the suite.
SIZES = (20, 40, 80, 160, 320, 2_560, 20_480)
#: Not imported: migrations, and ``__main__`` modules (importing one runs the program).
_SKIP_MODULES = ("migrations", "__main__")

AnyPattern = re.Pattern[str] | regex.Pattern[str]


def _modules() -> Iterator[ModuleType]:
    for pkg in (core, api, audit, policies):
        yield pkg
        for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
            if any(part in info.name for part in _SKIP_MODULES):
                continue
            yield importlib.import_module(info.name)


def _walk(
    value: object, found: dict[tuple[str, int], tuple[str, AnyPattern]], where: str, depth: int
) -> None:
    if isinstance(value, re.Pattern | regex.Pattern):
        if isinstance(value.pattern, str):
            found.setdefault((value.pattern, int(value.flags)), (where, value))
        return
    if depth <= 0 or isinstance(value, str | bytes | int | float | type | ModuleType):
        return
    items: list[tuple[str, object]] = []
    if isinstance(value, dict):
        items = [(f"{where}[{k!r}]", v) for k, v in list(value.items())[:5_000]]
    elif isinstance(value, list | tuple | set | frozenset):
        items = [(f"{where}[{i}]", v) for i, v in enumerate(list(value)[:5_000])]
    elif dataclasses.is_dataclass(value):
        items = [(f"{where}.{f.name}", getattr(value, f.name, None)) for f in dataclasses.fields(value)]
    elif hasattr(value, "__dict__") and type(value).__module__.split(".")[0] in {"core", "presidio_analyzer"}:
        items = [(f"{where}.{k}", v) for k, v in vars(value).items()]
    for name, item in items:
        _walk(item, found, name, depth - 1)


def _recognizers() -> list[Any]:
    """The recognizers the engine runs, built as ``core.pii.registry.build_registry`` builds them."""
    from presidio_analyzer import PatternRecognizer, RecognizerRegistry

    from core.pii.recognizers.prefiltered import prefiltered
    from core.pii.registry import hush_recognizers, offline_tld_extractor

    registry = RecognizerRegistry(supported_languages=["en"])
    registry.load_predefined_recognizers(languages=["en"])
    found: list[Any] = list(hush_recognizers(extractor=offline_tld_extractor()))
    found.extend(prefiltered(rec) for rec in registry.recognizers)
    # Presidio compiles PatternRecognizer regexes at analysis time, with the regex module
    for rec in list(found):
        inner = getattr(rec, "_inner", rec)
        if isinstance(inner, PatternRecognizer):
            flags = inner.global_regex_flags if inner.global_regex_flags is not None else 0
            found.extend(regex.compile(p.regex, flags=flags) for p in inner.patterns)
    return found


@cache
def all_patterns() -> tuple[tuple[str, AnyPattern], ...]:
    found: dict[tuple[str, int], tuple[str, AnyPattern]] = {}
    for module in _modules():
        for name, value in list(vars(module).items()):
            _walk(value, found, f"{module.__name__}.{name}", depth=3)
    for i, rec in enumerate(_recognizers()):
        _walk(rec, found, f"recognizer[{i}]:{type(rec).__name__}", depth=4)
    return tuple(sorted(found.values(), key=lambda item: item[0]))


def _elapsed(pattern: AnyPattern, text: str) -> float:
    # CPU time of this thread: time the scheduler gives to other processes (a loaded CI machine,
    # the other test worker) is not counted, so growth measures the pattern, not the machine.
    best = float("inf")
    for _ in range(2):
        start = time.thread_time()
        for _match in pattern.finditer(text):
            pass
        best = min(best, time.thread_time() - start)
        if best < FLOOR:
            break
    return best


def _grows_linearly(pattern: AnyPattern, unit: str) -> str | None:
    """None, or why the time to scan ``unit`` repeated grows faster than linearly."""
    previous, previous_text = FLOOR, unit
    for size in SIZES:
        text = (unit * (size // len(unit) + 1))[:size]
        took = _elapsed(pattern, text)
        if took > _allowed(previous, len(previous_text), size):
            # The machine is shared: measure both sizes again, interleaved, before calling it growth.
            again = [(_elapsed(pattern, previous_text), _elapsed(pattern, text)) for _ in range(5)]
            previous, took = min(a for a, _ in again), min(b for _, b in again)
            if took > _allowed(previous, len(previous_text), size):
                return f"{size} chars of {unit[:40]!r}: {took * 1e3:.1f} ms after {previous * 1e3:.2f} ms"
        previous, previous_text = took, text
    return None


def _allowed(previous: float, previous_size: int, size: int) -> float:
    ratio = DOUBLING_RATIO if size <= 2 * previous_size else RATIO ** math.log(size / previous_size, 8)
    return ratio * max(previous, FLOOR)


FAMILIES: dict[str, str] = {
    "x dot": "john dot ",
    "x [dot]": "john [dot] ",
    "x (at)": "a (at) ",
    "x at x dot": "a at b dot ",
    "near-miss e-mail": "a.b@",
    "near-miss e-mail 2": "john.smith@example.",
    "e-mail dots": "a.",
    "digit dash": "1-",
    "digit space": "1 ",
    "digit dot": "1.",
    "digit slash": "1/",
    "plus digit": "+1 ",
    "digit run": "1",
    "letter run": "a",
    "upper run": "AB",
    "capitalised words": "Ab ",
    "capitalised list": "Abc, ",
    "capitalised pairs": "Abc Def, ",
    "number and word": "12 Abc ",
    "letter digit": "1a",
    "initial digit": "A1 ",
    "label colon": "Ab: ",
    "spaces": " ",
    "tabs": "a\t",
    "newlines": "a\n",
    "dashes": "- ",
    "nested repeat": "aa-aa aa-aa, ",
    "street-like": "12 High Street ",
    "house words": "Flat 1 Rose House ",
    "postcode-like": "SW1 1AA ",
    "mr names": "Mr Ab Cd ",
    "phone-like": "(020) 7946 ",
    "card-like": "4111 1111 ",
    "CJK": "王先生",
    "CJK places": "北京市朝阳区",
    "CJK digits": "零一",
    "mixed CJK": "王 a 1 点 ",
    "CJK dot name": "阿·",
    "full-width": "１２３＠",
    "url-like": "http://a.",
    "brackets": "([{<",
    "capital dash": "A-",
    "word dash": "Ab-",
    "capital comma": "Q,",
    "capital slash": "Q/",
    "dotted words": "Ab.Cd ",
    "lines of names": "Ab Cd\n",
    "emoji capital": "😀Q,",
    "latin in CJK": "客户Ab Cd，",
}


def _ids() -> list[str]:
    return [name for name, _ in all_patterns()]


def test_the_collector_finds_the_known_patterns() -> None:
    names = {name for name, _ in all_patterns()}
    assert "core.pii.recognizers.obfuscated._EMAIL_OBFUSCATED" in names
    assert any(name.startswith("recognizer[") and "regex" not in name for name in names)
    # Presidio's predefined pattern recognizers are in (compiled with the regex module)
    assert sum(isinstance(p, regex.Pattern) for _, p in all_patterns()) >= 10
    assert len(names) >= 100


@pytest.mark.parametrize("index", range(len(all_patterns())), ids=_ids())
def test_every_pattern_is_linear_on_adversarial_families(index: int) -> None:
    name, pattern = all_patterns()[index]
    slow = [why for unit in FAMILIES.values() if (why := _grows_linearly(pattern, unit)) is not None]
    assert not slow, f"{name} ({pattern.pattern[:120]!r}) is not linear: " + "; ".join(slow)


_TOKENS = st.sampled_from(
    [
        "a", "Z", "Ab", "1", "12", " ", "  ", "\t", "\n", ".", ",", "-", "_", "/", ":", "@", "+", "(", ")",
        "[", "]", "dot", "at", "period", "com", "Mr", "Street", "Rd", "Box", "and", "王", "先生", "市",
        "区", "点", "艾特", "零", "·", "１", "＠", "'", "&", "é",
    ]
)  # fmt: skip


@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(unit=st.lists(_TOKENS, min_size=1, max_size=6).map("".join))
def test_every_pattern_is_linear_on_generated_repeats(unit: str) -> None:
    slow: list[str] = []
    for name, pattern in all_patterns():
        why = _grows_linearly(pattern, unit)
        if why is not None:
            slow.append(f"{name}: {why}")
    assert not slow, "\n".join(slow)


# -- `hushdb pii scan|mask` on oversized input: the note limit, one line, exit 2 ----------------------


@pytest.mark.parametrize("command", ["scan", "mask"])
def test_oversized_input_is_one_line_and_exit_2_not_a_traceback(command: str) -> None:
    result = CliRunner().invoke(pii_app, [command], input="word " * 400_000)  # 2 MB
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "larger than 20480 bytes" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_oversized_jsonl_text_is_refused() -> None:
    result = CliRunner().invoke(pii_app, ["scan", "--jsonl"], input=json.dumps({"text": "x" * 30_000}) + "\n")
    assert result.exit_code == 2
    assert "a text is larger than" in result.stderr


# -- runs of a Chinese character that a pattern both names and holds in a class ----------------------


def _cjk(code: int) -> bool:
    return 0x3400 <= code <= 0x9FFF or 0xF900 <= code <= 0xFAFF


def _ambiguous_cjk(pattern: re.Pattern[str]) -> list[str]:
    """The Chinese characters a pattern names as literals and also holds in one of its classes:
    a run of one of them can be split between the class and the literal in many ways (the
    families above are ASCII or fixed Chinese words, and missed ``(?:[一-鿿]{1,4}族)*``)."""
    from re import _constants as c
    from re import _parser

    literals: set[int] = set()
    ranges: list[tuple[int, int]] = []

    def walk(items: Any) -> None:
        for op, av in items:
            if op is c.LITERAL and _cjk(av):
                literals.add(av)
            elif op is c.IN:
                for sub_op, sub_av in av:
                    if sub_op is c.RANGE:
                        ranges.append(sub_av)
                    elif sub_op is c.LITERAL:
                        ranges.append((sub_av, sub_av))
            elif op is c.SUBPATTERN:
                walk(av[3])
            elif op is c.BRANCH:
                for branch in av[1]:
                    walk(branch)
            elif op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT):
                walk(av[2])
            elif op in (c.ATOMIC_GROUP,):
                walk(av)
            elif op in (c.ASSERT, c.ASSERT_NOT):
                walk(av[1])

    try:
        walk(_parser.parse(pattern.pattern, pattern.flags))
    except (re.error, TypeError, ValueError):
        return []
    found = sorted(ch for ch in literals if any(a <= ch <= b for a, b in ranges))
    return [chr(ch) for ch in found]


def _cjk_cases() -> list[tuple[str, str]]:
    return [
        (name, ch)
        for name, pattern in all_patterns()
        if isinstance(pattern, re.Pattern)
        for ch in _ambiguous_cjk(pattern)
    ]


@pytest.mark.parametrize(("name", "char"), _cjk_cases(), ids=[f"{n}-{c}" for n, c in _cjk_cases()])
def test_every_pattern_is_linear_on_runs_of_its_own_chinese_characters(name: str, char: str) -> None:
    pattern = dict(all_patterns())[name]
    why = _grows_linearly(pattern, char)
    assert why is None, f"{name} is not linear: {why}"
