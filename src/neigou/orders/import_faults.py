"""Why an order file's row is refused, in words: the row, the column (or a JSON line's field) and what
is wrong with it, never the value it holds.

A shop's file may hold a customer's phone number or name where a number or a time should be, and
Python's own errors repeat what they were given (``invalid literal for int() with base 10:
'13812345678'``, ``Invalid isoformat string: '…'``): the import report is stored, shown on the console
and may be logged, so none of those texts ever reaches a row's error. The table reader, the columnar
reader (which hands an order it does not read to the table reader's own code) and the JSON lines
reader give the same message for the same fault.
"""

from __future__ import annotations

from typing import Any

from neigou.kit.dates import FIRST_DAY, LAST_DAY
from neigou.kit.i18n import N_, Message


class Fault(ValueError):
    """What is wrong with a cell or a field: the English text (``{row}`` and ``{column}`` filled in
    where the row is refused), the column at fault and, for a table order's later line, its row."""

    def __init__(
        self, msgid: str, column: str | None = None, *, row: int | None = None, **values: Any
    ) -> None:
        super().__init__(msgid)
        self.msgid = msgid
        self.column = column
        self.row = row
        self.values = values

    def message(self, row: int) -> Message:
        """The sentence for the refused row ``row`` (the fault's own row when it names one)."""
        named = {"column": self.column} if self.column is not None else {}
        return Message(self.msgid, row=self.row or row, **named, **self.values)


WHOLE_NUMBER = N_("Row {row}: {column} must be a whole number written in digits.")
MISSING = N_("Row {row}: {column} is missing.")
NOT_A_TIME = N_(
    "Row {row}: {column} must be an ISO 8601 time written as text like 2026-03-01T12:00:00+08:00."
)
NO_ZONE = N_("Row {row}: {column} must carry a time zone.")
OUT_OF_RANGE = N_("Row {row}: {column} must lie between {first} and {last}.")
NOT_JSON = N_("Row {row} is not valid JSON (at character {position}).")
NOT_AN_OBJECT = N_("Row {row} must be a JSON object.")
NOT_A_LIST = N_("Row {row}: {column} must be a list.")
FIELD_NOT_AN_OBJECT = N_("Row {row}: {column} must be a JSON object.")
UNREADABLE = N_("Row {row} could not be read.")
NOT_TEXT = N_("Row {row}: {column} must be text.")


def whole_number(column: str) -> Fault:
    """A quantity, an amount or a program that is not an integer."""
    return Fault(WHOLE_NUMBER, column)


def not_text(column: str) -> Fault:
    """A JSON line's text field given as true, false, a list or an object."""
    return Fault(NOT_TEXT, column)


def missing(column: str) -> Fault:
    """A required cell or field left out."""
    return Fault(MISSING, column)


def not_a_time(column: str) -> Fault:
    """A time that is not ISO 8601 text (a number, a date in another format, a name)."""
    return Fault(NOT_A_TIME, column)


def no_zone(column: str) -> Fault:
    """A time without its zone."""
    return Fault(NO_ZONE, column)


def out_of_range(column: str) -> Fault:
    """A time outside the days stored, or with no UTC instant."""
    return Fault(OUT_OF_RANGE, column, first=FIRST_DAY.isoformat(), last=LAST_DAY.isoformat())


def not_json(position: int) -> Fault:
    """A JSON line that does not parse: where it stops (``position``, from 0, told from 1), never what it
    holds."""
    return Fault(NOT_JSON, position=position + 1)


def described(exc: Exception, row: int) -> Message:
    """The message of a row refused for ``exc``: a ``Fault``'s own words, never any other error's text
    (which may quote the row's value)."""
    return exc.message(row) if isinstance(exc, Fault) else Message(UNREADABLE, row=row)
