"""The one employee-number rule: what a whitelist stores and every lookup compares.

NFKC (full-width ``Ｅ００１`` is ``E001``), invisible marks dropped wherever they stand (a byte-order
mark a spreadsheet left, zero-width spaces and joiners, direction marks a copy from a chat carried),
white space trimmed at either end, letters upper-cased. ``E001``, ``Ｅ００１`` and `` e001 `` are one
employee, with one guest quota. Pure: no I/O. Migration 0036 froze this rule as it was written.
"""

from __future__ import annotations

import unicodedata

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

from neigou.kit.i18n import Message

# The validation error type (and the refusal's code) of a number with nothing left once normalised.
BLANK_EMPLOYEE_NO = "blank_employee_no"
# Its message, in the reader's language; it never quotes what was typed.
BLANK_MESSAGE = Message(
    "An employee number is required: white space and invisible characters alone are none."
)
# The longest stored number (``event_employees.employee_no``), checked on the normalised form.
MAX_LENGTH = 64
# The longest text read as a number: NFKC may lengthen a number, never past four times its length.
MAX_INPUT = 4 * MAX_LENGTH

# The invisible marks copies carry (``kit.ids``' set): a byte-order mark, zero-width spaces and joiners,
# direction marks, embeddings and isolates, the word joiner.
_INVISIBLE = dict.fromkeys((0xFEFF, *range(0x200B, 0x2010), *range(0x202A, 0x202F), *range(0x2060, 0x206A)))


def employee_no(value: str) -> str:
    """``value`` in its one stored form; empty when nothing but white space and invisible marks."""
    if value.isascii():
        return value.strip().upper()
    text = unicodedata.normalize("NFKC", value.translate(_INVISIBLE)).translate(_INVISIBLE)
    return unicodedata.normalize("NFKC", text.strip().upper())


def _validated(value: str) -> str:
    number = employee_no(value)
    if not number:
        raise PydanticCustomError(
            BLANK_EMPLOYEE_NO, "an employee number of only white space or invisible characters"
        )
    if len(number) > MAX_LENGTH:
        raise PydanticCustomError(
            "string_too_long",
            "String should have at most {max_length} characters",
            {"max_length": MAX_LENGTH},
        )
    return number


EmployeeNumber = AfterValidator(_validated)
"""Validates a request's employee number and gives its normalised form (``BLANK_EMPLOYEE_NO`` when
nothing is left)."""
