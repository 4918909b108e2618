"""Array parameters sent to PostgreSQL in binary.

psycopg sends a Python list of strings in its text form, quoting each element in Python (a
regular-expression check per element): for a batch's thousands of customer hashes or link codes that
is about ten times the time of the binary form, which copies each element as it is. A parameter typed
:class:`BinaryArray` is handed to psycopg as a list it dumps in binary; the statement casts it to the
array type it always had (``VARCHAR[]``, ``BIGINT[]``), so the query and its plan are unchanged.
:func:`one_of` is the batch look-ups' "column is one of these values" in one bound parameter.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import ColumnElement, any_, func, literal, select
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.types import UserDefinedType


class BinaryList(list[Any]):
    """A list psycopg dumps in binary (registered below when psycopg is installed)."""


class BinaryArray(UserDefinedType[list[Any]]):
    """An array bind parameter of ``element`` values (``VARCHAR``, ``BIGINT``), sent in binary."""

    cache_ok = True
    render_bind_cast = True  # ``%(p)s::VARCHAR[]``, as an ``ARRAY`` parameter is rendered

    def __init__(self, element: str) -> None:
        self.element = element

    def get_col_spec(self, **kw: Any) -> str:
        return f"{self.element}[]"

    def bind_processor(self, dialect: Dialect) -> Any:
        return BinaryList


def one_of(
    session: Session, column: InstrumentedAttribute[Any], values: list[Any], element: str
) -> ColumnElement[bool]:
    """``column`` is one of ``values``, bound as one parameter: a :class:`BinaryArray` of ``element``
    (``VARCHAR``, ``BIGINT``) on PostgreSQL, a JSON list on SQLite. A batch's thousands of values go in
    one statement, compiled once."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(literal(values, BinaryArray(element)))
    return column.in_(select(func.json_each(literal(json.dumps(values))).table_valued("value").c.value))


def _register() -> None:
    try:
        import psycopg  # psycopg is only there with PostgreSQL
        from psycopg.types.array import ListBinaryDumper
    except ImportError:  # pragma: no cover - SQLite-only installs
        return
    psycopg.adapters.register_dumper(BinaryList, ListBinaryDumper)


_register()
