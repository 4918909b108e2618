"""A name people read (a brand's, a program's, a group's, a product's title) must show something: once
NFKC (``kit.ids.blank``: white space and invisible marks are nothing) something is left. A
name of only zero-width spaces, direction marks or a byte-order mark passes a length check and lists as a
blank line; it is refused as ``blank_name``, its text never quoted."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints
from pydantic_core import PydanticCustomError

from neigou.kit.field_errors import BLANK_NAME, CONTACT_LABEL
from neigou.kit.ids import blank
from neigou.kit.phones import parse_phone

# The validation error types (the refusals' codes) and their messages are in ``kit.field_errors``.


def _shows_something(value: str | None) -> str | None:
    if value is not None and blank(value):
        raise PydanticCustomError(BLANK_NAME, "a name of only white space or invisible characters")
    return value


VisibleName = AfterValidator(_shows_something)
"""Refuses a name (or title) with nothing visible in it (``BLANK_NAME``); keeps any other as given."""

# The longest name (a program's, a brand's, a group's, a campaign's...): their ``name`` columns' length.
MAX_NAME = 120

VisibleNameStr = Annotated[str, Field(min_length=1, max_length=MAX_NAME), VisibleName]
"""A name field as typed: 1 to ``MAX_NAME`` characters (white space round it counted and kept), something
visible in it."""
StrippedNameStr = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_NAME), VisibleName
]
"""A name field without the white space round it: 1 to ``MAX_NAME`` characters once stripped, something
visible in it."""


# A label about a customer (a tag, a job) that reads as a phone number (``CONTACT_LABEL``) would keep the
# number in clear where the customer's own reference is stored hashed and shown masked.


def _no_phone(value: str | None) -> str | None:
    if value is not None and parse_phone(value) is not None:
        raise PydanticCustomError(CONTACT_LABEL, "a label that reads as a phone number")
    return value


def _no_phones(values: list[str] | None) -> list[str] | None:
    for value in values or ():
        _no_phone(value)
    return values


NotAPhone = AfterValidator(_no_phone)
"""Refuses a customer's label that ``kit.phones`` reads as a phone number, written any way (``CONTACT_LABEL``)."""
NoPhones = AfterValidator(_no_phones)
"""``NotAPhone`` for each of a list of labels (a customer's tags)."""
