"""One text rule for every service and both back ends.

PostgreSQL cannot store NUL in text and refuses lone surrogates; SQLite stores both. So that
the two answer alike, and a stored value can never break a later read or export, text that
clients send is refused (422 naming the field) when it holds:

- NUL or another C0 control character, DEL or a C1 control character (U+0080 to U+009F),
  or a lone surrogate: refused everywhere;
- tab, line feed or carriage return: allowed in free text (`Text`: notes, reasons, a
  dispute's issue), refused in a single line (`Line`: names, ids, codes) and in query and
  path parameters.

Request schemas inherit `RequestModel`, whose wildcard validator holds every string field
(and strings inside lists and dicts) to the free-text rule, so a field no one annotated is
still safe; `Line` tightens a field to one line. Query and path parameters are checked by the
app-wide dependency `refuse_control_characters`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import AfterValidator, BaseModel, ValidationError, field_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

_TEXT_REFUSED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_LINE_REFUSED = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
ERROR_TYPE = "control_character"


def _described(character: str) -> str:
    names = {"\t": "a tab", "\n": "a line break", "\r": "a line break"}
    return names.get(character, f"the control character U+{ord(character):04X}")


def refused_character(value: str, *, single_line: bool) -> str | None:
    """The first character the rule refuses in `value`, or None."""
    found = (_LINE_REFUSED if single_line else _TEXT_REFUSED).search(value)
    return found.group() if found else None


def without_control_characters(value: str) -> str:
    """`value` with every character the free-text rule refuses dropped: for files written from
    records stored before the rule (exports), where refusing is no longer possible."""
    return _TEXT_REFUSED.sub("", value)


def _message(character: str, single_line: bool) -> str:
    what = "a single line of text" if single_line else "text"
    return f"must be {what} without control characters; it holds {_described(character)}"


def _check(value: str, single_line: bool) -> str:
    character = refused_character(value, single_line=single_line)
    if character is not None:
        raise PydanticCustomError(ERROR_TYPE, _message(character, single_line))
    return value


def check_text(value: str) -> str:
    """Free text: tab and line breaks allowed, other control characters refused."""
    return _check(value, single_line=False)


def check_line(value: str) -> str:
    """One line: every control character refused, tab and line breaks too."""
    return _check(value, single_line=True)


Text = Annotated[str, AfterValidator(check_text)]
"""Free text (notes, reasons): may hold tabs and line breaks, no other control character."""

Line = Annotated[str, AfterValidator(check_line)]
"""A single line (a name, an id, a code): no control character at all."""


def _refused_inside(value: Any, loc: tuple[str | int, ...] = ()) -> Iterator[InitErrorDetails]:
    """An error for each string in `value` (a string, list, dict or model) the rule refuses."""
    if isinstance(value, str):
        character = refused_character(value, single_line=False)
        if character is not None:
            error = PydanticCustomError(ERROR_TYPE, _message(character, single_line=False))
            yield InitErrorDetails(type=error, loc=loc, input=value)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _refused_inside(item, (*loc, index))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _refused_inside(key, (*loc, str(key)))
            yield from _refused_inside(item, (*loc, str(key)))
    elif isinstance(value, BaseModel) and not isinstance(value, RequestModel):
        # A model shared with responses (drp-api's ChildRef) carries no validator of its own:
        # its strings are held to the rule of the request that carries it.
        for name, item in value:
            yield from _refused_inside(item, (*loc, name))


class RequestModel(BaseModel):
    """The base of every request body: no string anywhere in it holds a control character
    other than tab and line breaks (fields typed `Line` refuse those too)."""

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, value: Any) -> Any:
        errors = list(_refused_inside(value))
        if errors:  # each error's location, inside the field, is kept: /child/name
            raise ValidationError.from_exception_data(cls.__name__, errors)
        return value


async def refuse_control_characters(request: Request) -> None:
    """Query and path parameters are single lines: a control character in a name or value is
    a 422 naming the parameter (before any filter reaches the database)."""
    errors = []
    for location, items in (
        ("path", request.path_params.items()),
        ("query", request.query_params.multi_items()),
    ):
        for name, value in items:
            if not isinstance(value, str):
                continue
            character = refused_character(name, single_line=True) or refused_character(
                value, single_line=True
            )
            if character is not None:
                errors.append(
                    {
                        "type": ERROR_TYPE,
                        "loc": (location, name),
                        "msg": _message(character, single_line=True),
                        "input": None,  # never echoed back
                    }
                )
    if errors:
        raise RequestValidationError(errors)
