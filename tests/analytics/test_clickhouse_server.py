"""The ClickHouse server path (``clickhouse://``): the URL becomes clickhouse-connect's arguments, and
the engine's statements, Arrow loads and exact settings run on a real ClickHouse engine — chDB behind
a client with clickhouse-connect's surface (no server can be installed in CI)."""

from __future__ import annotations

import threading
from datetime import date
from pathlib import Path
from typing import Any, cast

import pyarrow as pa
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.analytics import breakdowns, reports
from neigou.analytics.extract import refresh
from neigou.analytics.reports import Span
from neigou.analytics.store import ClickHouseEngine, Store, clickhouse_params, open_store
from tests.analytics.builders import build
from tests.conftest import TokenMaker


def test_the_url_names_server_credentials_and_exact_settings() -> None:
    params = clickhouse_params("clickhouse://analyst:p%40ss@ch.internal:9000/neigou")
    assert (params["host"], params["port"], params["username"], params["password"]) == (
        "ch.internal",
        9000,
        "analyst",
        "p@ss",
    )
    assert params["database"] == "neigou"
    assert params["secure"] is False
    assert params["settings"]["count_distinct_implementation"] == "uniqExact"  # never the approximate uniq
    assert params["settings"]["join_use_nulls"] == 1
    defaults = clickhouse_params("clickhouse://ch.internal?secure=1")
    assert (defaults["port"], defaults["database"], defaults["username"], defaults["secure"]) == (
        8443,
        "default",
        "default",
        True,
    )


class _Result:
    def __init__(self, rows: list[tuple[Any, ...]]) -> None:
        self.result_rows = rows


class ChdbClient:
    """clickhouse-connect's client surface (query, command, insert_arrow, close) over a chDB session,
    applying the settings the engine asked the server for."""

    def __init__(self, path: str, **params: Any) -> None:
        import chdb

        self.params = params
        self._connection = cast(Any, chdb).connect(path)  # typed or not, by chdb's install order
        settings = ", ".join(f"{k} = {v!r}" for k, v in params["settings"].items())
        self._settings = f" SETTINGS {settings}"

    def query(self, sql: str) -> _Result:
        cursor = self._connection.cursor()
        try:
            cursor.execute(sql + self._settings)
            return _Result(list(cursor.fetchall()))
        finally:
            cursor.close()

    def command(self, sql: str) -> None:
        self._connection.query(sql)

    def insert_arrow(self, table: str, rows: pa.Table) -> None:
        incoming = rows  # read by name by chDB's Python() table function
        columns = ", ".join(rows.column_names)
        self._connection.query(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM Python(incoming)")  # noqa: S608
        del incoming

    def close(self) -> None:
        self._connection.close()


@pytest.mark.chdb
def test_the_server_engine_gives_the_same_figures_as_duckdb(
    client: TestClient,
    operator: dict[str, str],
    make_token: TokenMaker,
    factory: sessionmaker[Session],
    tmp_path: Path,
) -> None:
    pytest.importorskip("chdb")
    world = build(client, operator, make_token, factory)
    duck = open_store(f"duckdb:///{tmp_path / 'a.duckdb'}")
    engine = ClickHouseEngine(
        "clickhouse://neigou@localhost/default", connect=lambda **p: ChdbClient(str(tmp_path / "ch"), **p)
    )
    server = Store(engine=engine, lock=threading.Lock())
    try:
        with factory() as session:
            assert refresh(session, duck) == refresh(session, server)
            assert refresh(session, server)["orders"] == 0
        span = Span(world.program_id, date(2026, 3, 1), date(2026, 3, 31))
        assert reports.repeat(server, span, window_days=30) == reports.repeat(duck, span, window_days=30)
        assert reports.economics(server, span) == reports.economics(duck, span)
        assert reports.customer_value(server, span) == reports.customer_value(duck, span)
        for by in breakdowns.ECONOMICS_KEYS:
            assert breakdowns.economics_by(server, span, by=by) == breakdowns.economics_by(duck, span, by=by)
        assert reports.economics(server, span).commission_fen == 90
    finally:
        duck.close()
        server.close()
