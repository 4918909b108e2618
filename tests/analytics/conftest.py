"""The analytics store on both engines, for the tests that write facts into it directly, and an empty
DuckDB store for the tests that refresh one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from neigou.analytics.schema import ensure_schema
from neigou.analytics.store import Store, open_store
from tests.analytics.stores import ENGINES


@pytest.fixture(params=ENGINES)
def engine_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """An empty store without its schema (a refresh makes it), on DuckDB and on chDB."""
    if request.param == "chdb":
        pytest.importorskip("chdb")
    opened = open_store(f"{request.param}:///{tmp_path / request.param}")
    yield opened
    opened.close()


@pytest.fixture
def store(engine_store: Store) -> Store:
    """An empty store with its schema, on DuckDB and on chDB."""
    ensure_schema(engine_store)
    return engine_store


@pytest.fixture
def duck(tmp_path: Path) -> Iterator[Store]:
    """An empty DuckDB store file (a refresh makes its schema)."""
    store = open_store(f"duckdb:///{tmp_path / 'analytics.duckdb'}")
    yield store
    store.close()
