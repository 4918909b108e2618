"""Facts written straight into an analytics store, in the Arrow types of their columns."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pyarrow as pa
import pytest

from neigou.analytics.facts import BY_NAME
from neigou.analytics.store import Store

ARROW = {
    "int": pa.int64(),
    "str": pa.string(),
    "date": pa.date32(),
    "ts": pa.timestamp("us"),
    "bool": pa.bool_(),
}

# Both engines of the analytics store, as test parameters. chDB's side runs once, on SQLite (the ``chdb``
# marker): the store gets the same typed Arrow columns from either database (``analytics.extract.to_arrow``),
# so what it answers does not depend on which one the facts came from; DuckDB's side runs on both.
ENGINES = ["duckdb", pytest.param("chdb", marks=pytest.mark.chdb)]


class Killed(Exception):
    """Stands for the process dying midway."""


def schema(table: str) -> pa.Schema:
    """The Arrow schema of a fact table."""
    return pa.schema([(column.name, ARROW[column.kind]) for column in BY_NAME[table].columns])


def load(store: Store, table: str, rows: list[dict[str, Any]]) -> None:
    """Append ``rows`` (missing columns null) to a fact table."""
    store.engine.load(table, pa.Table.from_pylist(rows, schema=schema(table)))


@contextmanager
def dying_before_insert(store: Store, table: str) -> Iterator[None]:
    """Inside, the store's statements run until one inserts into ``table``, which raises ``Killed``
    instead (after a recomputation's delete, before its insert)."""
    run = store.run

    def dies(sql: str, **params: Any) -> None:
        if sql.lstrip().startswith(f"INSERT INTO {table}"):
            raise Killed
        run(sql, **params)

    store.run = dies  # type: ignore[method-assign]
    try:
        yield
    finally:
        store.run = run  # type: ignore[method-assign]
