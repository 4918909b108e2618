"""Many rows at once: slices for IN lists, COPY on PostgreSQL, one executemany elsewhere, and the one
"insert, skip duplicates" statement of both databases.

Everything runs in the caller's transaction, like any other statement. Table and column names are
formatted into SQL here: they come from our own table metadata and code, never from input.
"""

from __future__ import annotations

import enum
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import lru_cache
from typing import Any, TypeVar, cast

from sqlalchemy import JSON, Enum, Table, insert, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase, Session

from neigou.kit.copy_bounds import checked
from neigou.kit.db_errors import database_code

# Far below every backend's bound-parameter limit, so an IN list never fails on a big file.
CHUNK = 500
# Below this many rows a plain INSERT … ON CONFLICT is cheaper than COPY to a staging table.
STAGE_FROM = 50
UNIQUE_VIOLATION = "23505"  # PostgreSQL's SQLSTATE for a broken unique key

T = TypeVar("T")
Target = Table | type[DeclarativeBase]


def chunks(values: Sequence[T], size: int = CHUNK) -> Iterator[list[T]]:
    """``values`` in slices of at most ``size``."""
    if size < 1:
        raise ValueError(f"chunk size must be positive, not {size}")
    for start in range(0, len(values), size):
        yield list(values[start : start + size])


def table_of(target: Target) -> Table:
    """The Core table of a mapped class (a table is its own)."""
    return target if isinstance(target, Table) else cast(Table, target.__table__)


def insert_ignoring_duplicates(
    session: Session,
    target: Target,
    rows: Sequence[dict[str, Any]],
    *,
    index_elements: Sequence[str] | None = None,
    returning: Sequence[str] = (),
) -> list[tuple[Any, ...]]:
    """One INSERT of ``rows`` that skips every row clashing with a unique key (with
    ``index_elements``, with that key only), on PostgreSQL and SQLite alike; returns the
    ``returning`` columns of the rows it inserted (nothing when none are asked for)."""
    if not rows:
        return []
    table = table_of(target)
    dialect = session.connection().dialect.name
    stmt: postgresql.Insert | sqlite.Insert
    if dialect == "postgresql":
        stmt = postgresql.insert(table).on_conflict_do_nothing(index_elements=index_elements)
    elif dialect == "sqlite":
        stmt = sqlite.insert(table).on_conflict_do_nothing(index_elements=index_elements)
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported
        raise RuntimeError(f"unsupported database {dialect}")
    if not returning:
        session.execute(stmt, list(rows))
        return []
    result = session.execute(stmt.returning(*(table.c[name] for name in returning)), list(rows))
    return [tuple(row) for row in result]


def upsert_adding(
    session: Session, target: Target, rows: Sequence[dict[str, Any]], *, key: Sequence[str], add: str
) -> None:
    """One INSERT of ``rows`` that, where ``key`` is taken, adds the row's ``add`` column to the stored
    one (a counter raised by a batch), on PostgreSQL and SQLite alike; ``key`` must not repeat among
    the rows. Large batches on PostgreSQL are COPYed to a staging table first (a multi-row VALUES
    costs the driver a parse of every placeholder). Rows are written in ``key`` order whatever order
    they come in: ``ON CONFLICT DO UPDATE`` locks each taken row as it meets it, so two batches (or a
    batch and another writer taking the same rows in key order) never lock them crosswise."""
    if not rows:
        return
    rows = sorted(rows, key=lambda r: tuple(r[k] for k in key))
    table = table_of(target)
    dialect = session.connection().dialect.name
    if dialect == "postgresql" and len(rows) >= STAGE_FROM:
        columns = list(rows[0])
        _stage_and_move(
            session,
            table.name,
            columns,
            _copy_values(table, rows, columns),
            unique=key,
            types=binary_types(table, columns),
            adding=add,
        )
        return
    if dialect == "postgresql":
        pg = postgresql.insert(table)
        session.execute(
            pg.on_conflict_do_update(index_elements=list(key), set_={add: table.c[add] + pg.excluded[add]}),
            list(rows),
        )
        return
    lite = sqlite.insert(table)
    session.execute(
        lite.on_conflict_do_update(index_elements=list(key), set_={add: table.c[add] + lite.excluded[add]}),
        list(rows),
    )


def insert_new(
    session: Session, target: Target, rows: Sequence[dict[str, Any]], *, unique: Sequence[str]
) -> list[tuple[Any, ...]]:
    """Insert the rows whose ``unique`` key is not taken (concurrent inserts included) and return
    ``(*unique, id)`` of each inserted row. Large batches on PostgreSQL are COPYed to a staging table
    first and moved with one ``INSERT … SELECT … ON CONFLICT DO NOTHING``."""
    if not rows:
        return []
    returned = [*unique, "id"]
    if session.connection().dialect.name != "postgresql" or len(rows) < STAGE_FROM:
        return insert_ignoring_duplicates(session, target, rows, index_elements=unique, returning=returned)
    table = table_of(target)
    columns = list(rows[0])
    return _stage_and_move(
        session, table.name, columns, _copy_values(table, rows, columns), unique=unique, returning=returned
    )


def insert_rows(session: Session, target: Target, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys): COPY on PostgreSQL, one executemany elsewhere."""
    if not rows:
        return
    table = table_of(target)
    if session.connection().dialect.name != "postgresql":
        session.execute(insert(table), list(rows))
        return
    columns = list(rows[0])
    copy_rows(
        session, table.name, columns, _copy_values(table, rows, columns), types=binary_types(table, columns)
    )


# PostgreSQL type names for binary COPY, by the SQLAlchemy type's visit name (enums are stored as
# text, JSON is left to text COPY).
_BINARY = {
    "big_integer": "int8",
    "integer": "int4",
    "small_integer": "int2",
    "string": "varchar",
    "unicode": "varchar",
    "text": "text",
    "enum": "text",
    "boolean": "bool",
    "datetime": "timestamptz",
}


def binary_types(table: Table, columns: Sequence[str]) -> list[str] | None:
    """The columns' types for binary COPY, or None when one of them has no binary form here."""
    out: list[str] = []
    for name in columns:
        column_type = table.c[name].type
        stored = getattr(column_type, "impl", column_type)
        visit = getattr(stored, "__visit_name__", "")
        if visit == "datetime" and not getattr(stored, "timezone", False):
            return None
        if visit not in _BINARY:
            return None
        out.append(_BINARY[visit])
    return out


def next_ids(session: Session, target: Target, count: int) -> list[int] | None:
    """``count`` fresh ids from the table's sequence (PostgreSQL), or None where ids come on insert."""
    if session.connection().dialect.name != "postgresql" or count == 0:
        return None
    # The sequence is looked up once, by a scalar subquery: a bare ``pg_get_serial_sequence`` call in
    # ``nextval`` runs per id (it resolves the name and scans the catalog's dependencies each time),
    # about nine tenths of the statement's time.
    ids = session.scalar(
        text(
            "SELECT array_agg(nextval((SELECT pg_get_serial_sequence(:t, 'id')::regclass))) "
            "FROM generate_series(1, :n)"
        ),
        {"t": table_of(target).name, "n": count},
    )  # one row holding them all, not one row per id
    return [int(i) for i in ids]


def copy_rows(
    session: Session,
    table_name: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    types: Sequence[str] | None = None,
    json_dumps: Callable[[Any], str | bytes] | None = None,
) -> None:
    """COPY ``rows`` (values in ``columns`` order) into a table (PostgreSQL). With the columns'
    PostgreSQL ``types`` the COPY is binary: a fifth of text COPY's client time, and the server
    parses nothing; without them it is text, and the values must be what text COPY takes. A binary
    COPY refuses an integer outside its column's type (``kit.copy_bounds.IntegerOutOfRange``) before
    it begins, writing nothing (text COPY's server refuses such a value itself).
    ``json_dumps`` encodes this COPY's ``json``/``jsonb`` values instead of the driver's default
    (``json.dumps``), for a faster encoder of the same documents."""
    form = " (FORMAT BINARY)" if types is not None else ""
    if types is not None:  # binary COPY would store an integer too large for its column wrapped
        rows = checked(table_name, columns, types, rows)
    driver: Any = session.connection().connection.driver_connection  # psycopg, in this transaction
    with driver.cursor() as cursor:
        if json_dumps is not None:
            from psycopg.types.json import set_json_dumps  # psycopg is only there with PostgreSQL

            set_json_dumps(json_dumps, cursor)  # this cursor's COPY only
        _copy(cursor, table_name, columns, rows, types=types, form=form)


def _copy(
    cursor: Any,
    table_name: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    types: Sequence[str] | None,
    form: str,
) -> None:
    with cursor.copy(f'COPY "{table_name}" ({_names(columns)}) FROM STDIN{form}') as copy:
        if types is not None:
            copy.set_types(list(types))
        for row in rows:
            copy.write_row(row)


def copy_unless_taken(
    session: Session,
    table_name: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    types: Sequence[str] | None = None,
    json_dumps: Callable[[Any], str | bytes] | None = None,
) -> bool:
    """COPY ``rows`` straight into a table inside a savepoint (PostgreSQL, ``copy_rows``): True when
    they all went in; False, with nothing of them written and the transaction still usable, when one's
    unique key was taken (SQLSTATE 23505, ``UNIQUE_VIOLATION``: back to the savepoint). Any other error
    goes through."""
    driver: Any = session.connection().connection.driver_connection  # psycopg, in this transaction
    driver.execute("SAVEPOINT copy_unless_taken")
    try:
        copy_rows(session, table_name, columns, rows, types=types, json_dumps=json_dumps)
    except Exception as exc:  # psycopg is an optional dependency: the error is told by its SQLSTATE
        if database_code(exc).sqlstate != UNIQUE_VIOLATION:
            raise
        driver.execute("ROLLBACK TO SAVEPOINT copy_unless_taken")
        driver.execute("RELEASE SAVEPOINT copy_unless_taken")
        return False
    driver.execute("RELEASE SAVEPOINT copy_unless_taken")
    return True


def copy_ignoring_duplicates(
    session: Session,
    table_name: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    unique: Sequence[str],
    types: Sequence[str] | None = None,
) -> list[tuple[Any, ...]]:
    """COPY ``rows`` into a table, skipping the rows whose ``unique`` key is taken (PostgreSQL);
    returns the ``unique`` key of every row inserted.

    The fast way first: COPY straight into the table inside a savepoint (``copy_unless_taken``). A row
    met before (a batch sent again) breaks the unique key: back to the savepoint, and the slow way,
    through a staging table and one ``INSERT … SELECT … ON CONFLICT DO NOTHING``.
    """
    if copy_unless_taken(session, table_name, columns, rows, types=types):
        positions = [list(columns).index(name) for name in unique]
        return [tuple(row[i] for i in positions) for row in rows]
    return _stage_and_move(session, table_name, columns, rows, unique=unique, returning=unique, types=types)


def insert_driver_rows(
    session: Session,
    table_name: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    unique: Sequence[str] | None = None,
) -> None:
    """One executemany of ``rows`` (values in ``columns`` order) straight to the driver, skipping
    SQLAlchemy's per-row parameter processing: values must be what the driver stores as they are.
    With ``unique``, rows whose key is taken are skipped."""
    if not rows:
        return
    connection = session.connection()
    statement = _insert_statement(
        connection.dialect.paramstyle, table_name, tuple(columns), tuple(unique) if unique else None
    )
    connection.exec_driver_sql(statement, list(rows))


@lru_cache(maxsize=64)
def _insert_statement(
    paramstyle: str, table_name: str, columns: tuple[str, ...], unique: tuple[str, ...] | None
) -> str:
    marker = {"qmark": "?", "format": "%s", "pyformat": "%s"}[paramstyle]
    skip = f" ON CONFLICT ({_names(unique)}) DO NOTHING" if unique else ""
    return (
        f'INSERT INTO "{table_name}" ({_names(columns)}) VALUES ({", ".join([marker] * len(columns))}){skip}'  # noqa: S608
    )


def _stage_and_move(
    session: Session,
    table_name: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    unique: Sequence[str],
    returning: Sequence[str] = (),
    types: Sequence[str] | None = None,
    adding: str | None = None,
) -> list[tuple[Any, ...]]:
    """COPY ``rows`` to a staging table typed from ``table_name``, then move the rows whose ``unique``
    key is free with one statement (with ``adding``, a taken key adds the row's ``adding`` column to
    the stored one instead); the staging table is left empty. It is temporary and ``ON COMMIT DROP``:
    it lives as long as the transaction, so a pooled connection never hands a staging table (or the
    rows of a transaction that failed) to its next user. Needs a transaction (never AUTOCOMMIT)."""
    names = _names(columns)
    # One staging table per column set: a connection may stage the same table with other columns later.
    stage = f"stage_{table_name}_{hashlib.blake2s(names.encode(), digest_size=4).hexdigest()}"
    session.execute(
        text(
            f'CREATE TEMPORARY TABLE IF NOT EXISTS "{stage}" ON COMMIT DROP '  # noqa: S608
            f'AS SELECT {names} FROM "{table_name}" WITH NO DATA'
        )
    )
    copy_rows(session, stage, columns, rows, types=types)
    # ORDER BY the key: an INSERT … SELECT takes its rows' locks (a taken key's row under DO UPDATE, a
    # key being inserted by another transaction under either) in the order the SELECT yields them, and a
    # scan of the staging table promises no order, not even the order the rows were copied in.
    move = (
        f'INSERT INTO "{table_name}" ({names}) SELECT {names} FROM "{stage}" '  # noqa: S608
        f"ORDER BY {_names(unique)} ON CONFLICT ({_names(unique)}) "
        + (
            f'DO UPDATE SET "{adding}" = "{table_name}"."{adding}" + EXCLUDED."{adding}"'
            if adding
            else "DO NOTHING"
        )
    )
    if returning:
        moved = [tuple(r) for r in session.execute(text(f"{move} RETURNING {_names(returning)}"))]
    else:
        session.execute(text(move))
        moved = []
    session.execute(text(f'TRUNCATE "{stage}"'))  # a second batch in the same transaction starts empty
    return moved


def _names(columns: Iterable[str]) -> str:
    return ", ".join(f'"{c}"' for c in columns)


def _copy_values(table: Table, rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> Iterator[list[Any]]:
    """The values of dict rows in ``columns`` order, in the form text COPY takes: an enum's value, a
    JSON column's document as text. Which columns need it is told by the table's types, not by the
    first row, whose value may be NULL where a later row's is not."""
    first = rows[0]
    convert = {
        c: _json_text if isinstance(table.c[c].type, JSON) else _plain
        for c in columns
        if isinstance(table.c[c].type, Enum | JSON) or isinstance(first[c], enum.Enum | dict | list)
    }
    if not convert:
        for row in rows:
            yield [row[c] for c in columns]
        return
    for row in rows:
        yield [convert[c](row[c]) if c in convert else row[c] for c in columns]


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict | list):
        return _json_text(value)
    return value


def _json_text(value: Any) -> str | None:
    """COPY's text form of a JSON column's value; None stays NULL."""
    return None if value is None else json.dumps(value, ensure_ascii=False)
