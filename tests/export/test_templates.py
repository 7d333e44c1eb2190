"""Letter templates: sandboxed, strict, and checked against the merge fields with line numbers."""

from __future__ import annotations

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
