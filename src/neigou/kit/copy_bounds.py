"""The last line of defence of a binary COPY: an integer outside its column's type.

psycopg encodes an ``int2``/``int4``/``int8`` value of binary COPY in the type's width without looking
at it, so a value too large is stored wrapped (13,812,345,678 into ``int4`` as 927,443,790) where text
COPY and an INSERT would be refused. ``checked`` refuses such rows before the COPY begins; the error
names the table and the column, never the value (it may be a customer's phone number or an order id).
The check is by column, each column's extremes found at C speed (``map``, ``min``, ``max``): this is
the bulk import's hot path.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from operator import itemgetter
from typing import Any

# The bounds of PostgreSQL's integer types, by their binary COPY name.
RANGES = {
    "int2": (-(2**15), 2**15 - 1),
    "int4": (-(2**31), 2**31 - 1),
    "int8": (-(2**63), 2**63 - 1),
}


class IntegerOutOfRange(ValueError):
    """A value that its integer column's type cannot hold (nothing of the COPY was written)."""

    def __init__(self, table_name: str, column: str, type_name: str) -> None:
        super().__init__(f"{table_name}.{column}: a value outside the range of {type_name}")
        self.table_name, self.column, self.type_name = table_name, column, type_name


def checked(
    table_name: str, columns: Sequence[str], types: Sequence[str], rows: Iterable[Sequence[Any]]
) -> Sequence[Sequence[Any]] | Iterable[Sequence[Any]]:
    """``rows`` (taken into a list first unless they are one already, or a tuple) once every value of
    an integer column is within its type (no such column: ``rows`` untouched); raises
    ``IntegerOutOfRange`` for the first column holding a value outside it."""
    bounds = [(i, *RANGES[t]) for i, t in enumerate(types) if t in RANGES]
    if not bounds:
        return rows
    taken = rows if isinstance(rows, list | tuple) else list(rows)
    for i, low, high in bounds:
        if not _within(list(map(itemgetter(i), taken)), low, high):
            raise IntegerOutOfRange(table_name, columns[i], types[i])
    return taken


def _within(values: list[Any], low: int, high: int) -> bool:
    try:
        return not values or (low <= min(values) and max(values) <= high)
    except TypeError:  # NULLs among the values (None has no order)
        present = [v for v in values if v is not None]
        return not present or (low <= min(present) and max(present) <= high)
