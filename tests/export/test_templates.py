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


def test_loop_and_set_variables_are_not_fields() -> None:
    t = LetterTemplate("{% set x = first_name %}{% for c in city %}{{ c }}{% endfor %}{{ x }}")
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
