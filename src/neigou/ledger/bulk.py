"""Writing many rows at once: COPY on PostgreSQL, a multi-row INSERT elsewhere.

Used for the rows a batch of orders makes by the million (lines, commissions, ledger entries);
it runs in the caller's transaction, like any other statement.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Table, insert, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from neigou.kit.db import Base


def table_of(model: type[Base]) -> Table:
    """The Core table of a mapped class."""
    return cast(Table, model.__table__)


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)  # COPY's text form of a JSON column
    return value


def insert_rows(session: Session, model: type[Base], rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys) into ``model``'s table."""
    if not rows:
        return
    table = table_of(model)
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        session.execute(insert(table), list(rows))
        return
    _copy(session, table.name, rows)


def _copy(session: Session, table_name: str, rows: Sequence[dict[str, Any]]) -> None:
    columns = list(rows[0])
    names = ", ".join(f'"{c}"' for c in columns)
    raw = session.connection().connection.driver_connection
    with raw.cursor() as cursor, cursor.copy(f'COPY "{table_name}" ({names}) FROM STDIN') as copy:  # type: ignore[union-attr]
        first = rows[0]
        plain = [c for c in columns if isinstance(first[c], enum.Enum | dict | list)]
        if not plain:
            for row in rows:
                copy.write_row([row[c] for c in columns])
            return
        for row in rows:
            copy.write_row([_plain(row[c]) if c in plain else row[c] for c in columns])


def next_ids(session: Session, model: type[Base], count: int) -> list[int] | None:
    """``count`` fresh ids from the table's sequence (PostgreSQL), or None where ids come on insert."""
    if session.connection().dialect.name != "postgresql" or count == 0:
        return None
    table = table_of(model)
    rows = session.execute(
        text("SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"),
        {"t": table.name, "n": count},
    )
    return [int(r[0]) for r in rows]


STAGE_FROM = 50  # below this a plain INSERT … ON CONFLICT is cheaper than staging


def insert_new(
    session: Session, model: type[Base], rows: Sequence[dict[str, Any]], *, unique: Sequence[str]
) -> list[tuple[Any, ...]]:
    """Insert the rows whose ``unique`` key is not taken (concurrent inserts included) and return
    ``(*unique, id)`` of each inserted row. Large batches on PostgreSQL are COPYed to a staging table
    first and moved with one ``INSERT … SELECT … ON CONFLICT DO NOTHING``."""
    if not rows:
        return []
    table = table_of(model)
    keys = [table.c[name] for name in unique]
    dialect = session.connection().dialect.name
    if dialect == "postgresql" and len(rows) >= STAGE_FROM:
        stage = f"stage_{table.name}"
        columns = ", ".join(f'"{c}"' for c in rows[0])
        # Identifiers below come from our own table metadata, never from input.
        session.execute(
            text(
                f'CREATE TEMP TABLE IF NOT EXISTS "{stage}" ON COMMIT DELETE ROWS '  # noqa: S608
                f'AS SELECT {columns} FROM "{table.name}" WITH NO DATA'
            )
        )
        session.execute(text(f'TRUNCATE "{stage}"'))
        _copy(session, stage, rows)
        returned = ", ".join(f'"{c}"' for c in [*unique, "id"])
        move = (
            f'INSERT INTO "{table.name}" ({columns}) SELECT {columns} FROM "{stage}" '  # noqa: S608
            f"ON CONFLICT ({', '.join(unique)}) DO NOTHING RETURNING {returned}"
        )
        result = session.execute(text(move))
        return [tuple(r) for r in result]
    stmt = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    result = session.execute(
        stmt.on_conflict_do_nothing(index_elements=list(unique)).returning(*keys, table.c.id), list(rows)
    )
    return [tuple(r) for r in result]
