"""Letter templates: sandboxed, strict, and checked against the merge fields with line numbers."""

from __future__ import annotations

import time

import pytest

from core.errors import InputError
from core.export.templates import LetterTemplate


def test_renders_merge_fields() -> None:
    t = LetterTemplate("Dear {{ first_name }},\n{% if city %}See you in {{ city }}.{% endif %}\n")
    assert t.render({"first_name": "Ann", "city": "Leeds"}) == "Dear Ann,\nSee you in Leeds.\n"


def test_field_not_in_fields_names_the_line() -> None:
    t = LetterTemplate("Dear {{ first_name }},\n\nYour number {{ phone }} is on file.\n")
    with pytest.raises(InputError, match="template line 3 uses phone, which is not in --fields"):
        t.check_fields(["first_name"])


def test_set_variables_are_not_fields() -> None:
    # (loops are refused outright: see test_templates_that_could_exhaust_the_server_are_refused_before_the_run)
    t = LetterTemplate("{% set x = first_name %}{{ city }}{{ x }}")
    t.check_fields(["first_name", "city"])
    assert {v.name for v in t.names} == {"first_name", "city"}


def test_syntax_error_names_the_line() -> None:
    with pytest.raises(InputError, match="template line 2"):
        LetterTemplate("Dear {{ first_name }}\n{% if %}\n")


@pytest.mark.parametrize(
    "source",
    [
        "{{ first_name.__class__.__mro__ }}",  # sandbox: no Python internals
        "{{ first_name.nonexistent }}",  # strict: no silent empty value
    ],
)
def test_sandbox_and_strict_undefined(source: str) -> None:
    with pytest.raises(InputError, match="template line"):
        LetterTemplate(source).render({"first_name": "Ann"})


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}", "loop"),  # CPU
        ("{{ full_name|center(999999999) }}", "filter center"),  # memory through a filter argument
        ("{{ lipsum(100000) }}", "function call"),  # globals are gone, and calls are refused
        ("{{ full_name.__class__ }}", None),  # the sandbox itself (attribute games)
    ],
)
def test_templates_that_could_exhaust_the_server_are_refused_before_the_run(
    source: str, message: str | None
) -> None:
    with pytest.raises(InputError) as info:
        LetterTemplate(source).render({"full_name": "Ann"})
    if message:
        assert message in str(info.value)


@pytest.mark.parametrize(
    "source",
    [
        "{{ full_name * 50000000 }}",  # a 100 MB letter from one field
        "{{ 9 ** 99999 }}",  # a huge integer
        "{{ ((9 ** 64) ** 64) ** 64 }}",  # the same, in steps
    ],
)
def test_arithmetic_is_bounded_at_render_time(source: str) -> None:
    with pytest.raises(InputError):
        LetterTemplate(source).render({"full_name": "Ann"})


# -- the rendering budget: refused before the memory is spent ------------------------------------

_DOUBLINGS = 40  # 2**40 times a field: a terabyte if any step were computed


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{% set n = 1000000 ** 64 %}{% set n = n * n %}{{ n }}", "bits"),
        ("{% set n = 1000 ** 30 %}" + "{% set n = n * n %}" * _DOUBLINGS + "{{ n }}", "bits"),
        ("{% set n = 2 ** 500 %}{{ n + n + n }}", None),  # 512 bits is the cap; a sum of two may pass
        ("{% set s = full_name %}" + "{% set s = s ~ s %}" * _DOUBLINGS + "{{ s }}", "concatenation"),
        ("{% set s = full_name %}" + "{% set s = s + s %}" * _DOUBLINGS + "{{ s|length }}", "longer than"),
        ("{% set s = [1, 2] %}" + "{% set s = s + s %}" * _DOUBLINGS + "{{ s|length }}", "longer than"),
        ('{{ "%0100000000d" % 1 }}', "wider than"),
        ('{{ "%.*f" % (100000000, 1.5) }}', "* width"),
        ('{{ "a" * 10**9 }}', "repetition"),
        ("{{ (1,) * 10**6 }}", "repetition"),
        ("{{ 9 ** 99999 }}", "bits"),
        ("{% set s = full_name * 1000 %}" + "{{ s }}" * 500, "longer than 200000"),
        ("{% set s = full_name * 1000 %}{% set b %}" + "{{ s }}" * 300 + "{% endset %}", "in all"),
        ("{% set s = full_name * 20000 %}" + "{% set t = s|upper %}" * 200, "in all"),
    ],
)
def test_template_budget_refuses_growth_before_computing_it(source: str, message: str | None) -> None:
    from core.errors import TemplateBudgetError

    template = LetterTemplate(source)
    start = time.perf_counter()
    if message is None:
        assert template.render({"full_name": "Ann"})  # within the budget
        return
    with pytest.raises(TemplateBudgetError, match=r"over the letter budget|longer than") as info:
        template.render({"full_name": "Ann Lee"})
    assert message in str(info.value)
    assert str(info.value).startswith(("template line 1:", "a rendered letter"))
    assert time.perf_counter() - start < 5  # generous: it must fail long before doing the work


def test_nested_containers_from_variables_are_refused_at_compile_time() -> None:
    # [a, a] nested 40 times is a few objects in memory but 2**40 characters when printed or compared
    source = "{% set a = [full_name] %}" + "{% set a = [a, a] %}" * _DOUBLINGS + "{{ a == a }}"
    with pytest.raises(InputError, match="builds a list from variables"):
        LetterTemplate(source)


@pytest.mark.parametrize(
    "source", ["{{ full_name|center(10**9) }}", "{{ full_name|format(1) }}", "{{ [1]|join(',') }}",
               "{{ full_name|wordwrap(1) }}", "{{ full_name|indent(10**9) }}"]
)  # fmt: skip
def test_filters_that_size_their_output_by_an_argument_are_refused(source: str) -> None:
    with pytest.raises(InputError, match="which letters may not use"):
        LetterTemplate(source)


@pytest.mark.parametrize(
    "source", ["{{ " + "9" * 5000 + " }}", "{{ 1 / 0 }}", "{{ full_name - 1 }}", "{{ 2.0 ** 5000 }}"]
)
def test_bad_arithmetic_is_an_input_error_never_a_crash(source: str) -> None:
    with pytest.raises(InputError):
        LetterTemplate(source).render({"full_name": "Ann"})


def test_ordinary_letters_still_render_within_the_budget() -> None:
    source = (
        "Dear {{ full_name|title }},\n"
        "{% if city in ('Leeds', 'York') %}See you up north{% endif %}, {{ '%05.2f' % 3.14159 }}"
        " {{ '%s and %s' % (full_name, city) }} {{ full_name ~ '!' }} {{ 12 * 12 }} {{ 2 ** 10 }}\n"
    )
    letter = LetterTemplate(source).render({"full_name": "ann lee", "city": "York"})
    assert letter == "Dear Ann Lee,\nSee you up north, 03.14 ann lee and York ann lee! 144 1024\n"


def test_the_budget_error_names_the_line() -> None:
    with pytest.raises(InputError, match="template line 3: over the letter budget"):
        LetterTemplate("Dear {{ full_name }},\n\n{{ full_name * 10**7 }}\n").render({"full_name": "Ann"})
