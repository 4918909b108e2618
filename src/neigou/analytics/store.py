"""The analytics store: DuckDB (embedded default) or ClickHouse (chDB in process), one query dialect.

Reports are written in DuckDB's SQL with ``:name`` placeholders. Each statement is parsed once per
process (SQLGlot); on DuckDB it runs as a prepared statement with its values as parameters, on
ClickHouse it is transpiled and its values bound as typed literals (ints, dates, strings). Two rewrites keep ClickHouse exact: ``a // b`` becomes ``intDiv(a, b)`` (SQLGlot would
divide in floating point and cast back), and ``count(DISTINCT …)`` runs as ``uniqExact`` (the
session's ``count_distinct_implementation``), never the approximate ``uniq``.

The engines are imported when a store is opened, not when the application starts.
"""

from __future__ import annotations

import functools
import itertools
import os
import socket
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol, cast
from urllib.parse import parse_qs, unquote, urlsplit

import pyarrow as pa
import sqlglot
from sqlglot import exp

from neigou.kit.errors import Unavailable
from neigou.kit.i18n import Message
from neigou.kit.settings import Settings

_MEMORY = itertools.count()
Value = int | str | date | datetime | None
HELD_ELSEWHERE = Message(
    "The analytics store is open in another process. Give each web process a store of its own "
    "(NEIGOU_ANALYTICS_URL), or use a ClickHouse server, which many processes can share."
)


class Engine(Protocol):
    """What a store needs of an engine."""

    dialect: str

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]: ...

    def load(self, table: str, rows: pa.Table) -> None: ...

    def transaction(self) -> AbstractContextManager[None]: ...

    def close(self) -> None: ...


def _literal(value: Value) -> exp.Expression:
    if value is None:
        return exp.null()
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int):
        return exp.Literal.number(value)
    if isinstance(value, datetime):
        text = value.strftime("%Y-%m-%d %H:%M:%S.%f")
        return exp.cast(exp.Literal.string(text), exp.DataType.build("TIMESTAMP"))
    if isinstance(value, date):
        return exp.cast(exp.Literal.string(value.isoformat()), exp.DataType.build("DATE"))
    return exp.Literal.string(value)


def _bind(node: exp.Expression, params: Mapping[str, Value | Sequence[int]]) -> exp.Expression:
    if isinstance(node, exp.Placeholder) and node.name:
        value = params[node.name]
        if isinstance(value, list | tuple):
            return exp.Tuple(expressions=[_literal(v) for v in value])
        return _literal(value)  # type: ignore[arg-type]
    return node


def _exact_division(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.IntDiv):
        return exp.Anonymous(this="intDiv", expressions=[node.this, node.expression])
    return node


@functools.lru_cache(maxsize=512)
def _parsed(sql: str, dialect: str) -> exp.Expr:
    """A statement parsed once per process (and rewritten for ClickHouse); binding copies it."""
    tree = sqlglot.parse_one(sql, read="duckdb")
    return tree.transform(_exact_division) if dialect == "clickhouse" else tree


@functools.lru_cache(maxsize=512)
def prepared(sql: str) -> tuple[str, frozenset[str]]:
    """For DuckDB: the statement as DuckDB reads it with ``$name`` parameters, and their names."""
    tree = _parsed(sql, "duckdb")
    names = frozenset(p.name for p in tree.find_all(exp.Placeholder) if p.name)
    return tree.sql(dialect="duckdb"), names


def render(sql: str, params: Mapping[str, Value | Sequence[int]], dialect: str) -> str:
    """The statement with its values bound as literals, in the engine's dialect."""
    return _parsed(sql, dialect).transform(lambda n: _bind(n, params)).sql(dialect=dialect)


class DuckDBEngine:
    """An embedded DuckDB file (or ``:memory:``); one connection, a cursor per statement, or per
    transaction (``transaction``: the thread's statements run on one cursor until it commits)."""

    dialect = "duckdb"

    def __init__(self, path: str) -> None:
        import duckdb  # the engine loads when a store opens, not at application start

        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self._connection = duckdb.connect(path)
        except duckdb.IOException as exc:
            if "Could not set lock" not in str(exc):
                raise
            # DuckDB lets one process open a file: another web process (or a CLI refresh) holds it.
            raise Unavailable(HELD_ELSEWHERE, code="analytics_store_busy") from None
        self._local = threading.local()

    def _held(self) -> Any:
        return getattr(self._local, "cursor", None)

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
        held = self._held()
        if held is not None:
            return list(held.execute(sql, params).fetchall())
        cursor = self._connection.cursor()
        try:
            return cursor.execute(sql, params).fetchall()
        finally:
            cursor.close()

    def load(self, table: str, rows: pa.Table) -> None:
        cursor = self._held() or self._connection.cursor()
        try:
            cursor.register("incoming", rows)
            cursor.execute(f"INSERT INTO {table} BY NAME SELECT * FROM incoming")  # noqa: S608 - our names
            cursor.unregister("incoming")
        finally:
            if cursor is not self._held():
                cursor.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """The block's statements (this thread's) in one transaction: other cursors, the readers, see
        the store as before it until it commits; an exception rolls it back."""
        if self._held() is not None:  # nested: part of the enclosing one
            yield
            return
        cursor = self._connection.cursor()
        cursor.execute("BEGIN TRANSACTION")
        self._local.cursor = cursor
        try:
            yield
        except BaseException:
            cursor.execute("ROLLBACK")
            raise
        else:
            cursor.execute("COMMIT")
        finally:
            self._local.cursor = None
            cursor.close()

    def close(self) -> None:
        self._connection.close()


class ChdbEngine:
    """ClickHouse in process (chDB) over a data directory; MergeTree tables, exact aggregates."""

    dialect = "clickhouse"
    SETTINGS = "SETTINGS join_use_nulls = 1, count_distinct_implementation = 'uniqExact'"

    def __init__(self, path: str) -> None:
        import chdb  # the engine loads when a store opens, not at application start

        if path != ":memory:":
            Path(path).mkdir(parents=True, exist_ok=True)
        # Typed or not depending on which of chdb's two packages wrote chdb/__init__.py last.
        self._connection = cast(Any, chdb).connect(path)

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
        assert params is None, "ClickHouse statements arrive bound"
        cursor = self._connection.cursor()
        try:
            statement, head = sql, sql.lstrip().upper()
            # Reads, and the reads that feed an INSERT, join and count as DuckDB does.
            if head.startswith(("SELECT", "WITH")) or (head.startswith("INSERT") and "SELECT" in head):
                statement = f"{statement} {self.SETTINGS}"
            cursor.execute(statement)
            return list(cursor.fetchall())
        finally:
            cursor.close()

    def load(self, table: str, rows: pa.Table) -> None:
        incoming = rows  # read by name from this frame by chDB's Python() table function
        columns = ", ".join(rows.column_names)
        self._connection.query(
            f"INSERT INTO {table} ({columns}) SELECT {columns} FROM Python(incoming)"  # noqa: S608
        )
        del incoming

    def transaction(self) -> AbstractContextManager[None]:
        """ClickHouse has no transactions over MergeTree tables (short of an experimental setting): the
        block's statements commit one by one."""
        return nullcontext()

    def close(self) -> None:
        self._connection.close()


# Exact aggregates and SQL's NULLs for outer joins, as the chDB engine sets them per statement.
CLICKHOUSE_SETTINGS = {"join_use_nulls": 1, "count_distinct_implementation": "uniqExact"}


def clickhouse_params(url: str) -> dict[str, Any]:
    """``clickhouse://user:password@host:port/database?secure=1`` as clickhouse-connect's arguments
    (HTTP port 8123 by default, 8443 with ``secure``)."""
    parts = urlsplit(url)
    secure = parse_qs(parts.query).get("secure", ["0"])[0] in ("1", "true")
    return {
        "host": parts.hostname or "localhost",
        "port": parts.port or (8443 if secure else 8123),
        "username": unquote(parts.username or "default"),
        "password": unquote(parts.password or ""),
        "database": parts.path.lstrip("/") or "default",
        "secure": secure,
        "settings": dict(CLICKHOUSE_SETTINGS),
        # one store serves a process's threads: no server session to share
        "autogenerate_session_id": False,
    }


class ClickHouseEngine:
    """A ClickHouse server (``NEIGOU_ANALYTICS_URL=clickhouse://…``) through clickhouse-connect over
    HTTP; facts arrive as Arrow. A cluster, its replication and its sharding are the deployment's own."""

    dialect = "clickhouse"

    def __init__(self, url: str, connect: Any = None) -> None:
        if connect is None:
            import clickhouse_connect  # the analytics extra; loads when a store opens

            connect = clickhouse_connect.get_client
        self._client = connect(**clickhouse_params(url))

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
        assert params is None, "ClickHouse statements arrive bound"
        if sql.lstrip().upper().startswith(("SELECT", "WITH")):
            return [tuple(row) for row in self._client.query(sql).result_rows]
        self._client.command(sql)
        return []

    def load(self, table: str, rows: pa.Table) -> None:
        self._client.insert_arrow(table, rows)

    def transaction(self) -> AbstractContextManager[None]:
        """No transactions over MergeTree tables (as ``ChdbEngine.transaction``)."""
        return nullcontext()

    def close(self) -> None:
        self._client.close()


@dataclass
class Store:
    """An analytics store: the engine, a lock that lets one of the process's threads write at a time, and
    the store's name, which names the lock a refresh takes across processes (``analytics.single_flight``)."""

    engine: Engine
    lock: threading.Lock
    name: str = ""

    @property
    def dialect(self) -> str:
        return self.engine.dialect

    def query(self, sql: str, **params: Value | Sequence[int]) -> list[tuple[Any, ...]]:
        """Run a report statement written in DuckDB's SQL: on DuckDB prepared once and given its values
        as parameters; on ClickHouse transpiled once and its values bound as literals."""
        if self.engine.dialect == "duckdb":
            statement, names = prepared(sql)
            return self.engine.execute(statement, {name: params[name] for name in names})
        return self.engine.execute(render(sql, params, self.engine.dialect))

    def run(self, sql: str, **params: Value | Sequence[int]) -> None:
        """Run a statement that changes the store."""
        self.query(sql, **params)

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the store's write lock."""
        with self.lock:
            yield

    def atomic(self) -> AbstractContextManager[None]:
        """Run the block's statements in one transaction where the engine has them (DuckDB): a reader
        never sees a kept table between the delete and the insert of a recomputation. On ClickHouse
        each statement commits alone: a reader can see the rows missing until the insert lands."""
        return self.engine.transaction()

    def close(self) -> None:
        self.engine.close()


def redo_above(store: Store, *, mark: int, touched: str, table: str, where: str, insert: str) -> int:
    """Recompute the rows of a kept ``table`` that depend on facts above ``mark``: ``touched`` counts
    what is affected, then the rows ``where`` selects are deleted and ``insert`` writes them again. Both
    use the same predicate, so a recomputation killed between them is redone whole by the next."""
    ((count,),) = store.query(touched, mark=mark)
    if count:
        with store.atomic():
            store.run(f"DELETE FROM {table} WHERE {where}", mark=mark)  # noqa: S608
            store.run(insert, mark=mark)
    return int(count)


def store_url(settings: Settings) -> str:
    """``NEIGOU_ANALYTICS_URL``, or a DuckDB file beside the data (``.neigou/analytics.duckdb``)."""
    if settings.analytics_url:
        return settings.analytics_url
    return "duckdb:///" + str(Path(settings.jobs_path).parent / "analytics.duckdb")


def open_store(url: str) -> Store:
    """``duckdb:///PATH``, ``duckdb:///:memory:``, ``chdb:///PATH`` or ``clickhouse+chdb:///PATH`` (in
    process), ``clickhouse://user:password@host:port/database`` (a server)."""
    scheme, _, rest = url.partition("://")
    path = rest[1:] if rest.startswith("/") else rest
    engine: Engine
    if scheme == "duckdb":
        engine = DuckDBEngine(path or ":memory:")
    elif scheme in ("chdb", "clickhouse+chdb"):
        engine = ChdbEngine(path or ":memory:")
    elif scheme == "clickhouse":
        engine = ClickHouseEngine(url)
    else:
        raise ValueError(f"unsupported analytics store {scheme!r}: use duckdb://, chdb:// or clickhouse://")
    return Store(engine=engine, lock=threading.Lock(), name=store_name(url))


def store_name(url: str) -> str:
    """What names a store across processes: a server by its address and database (never its password);
    a file by this host and its absolute path (another host's file of the same path is another store);
    a store in memory by this process and the store."""
    scheme, _, rest = url.partition("://")
    if scheme == "clickhouse":
        parts = urlsplit(url)
        return f"clickhouse://{parts.hostname}:{parts.port}{parts.path}"
    path = rest[1:] if rest.startswith("/") else rest
    if not path or path == ":memory:":
        return f"memory:{socket.gethostname()}:{os.getpid()}:{next(_MEMORY)}"
    return f"{scheme}:{socket.gethostname()}:{Path(path).resolve()}"
