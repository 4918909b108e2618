"""The test database's fixtures: a real database (SQLite or PostgreSQL, by ``NEIGOU_TEST_DATABASE``),
migrated with Alembic, emptied after each test, or one connection and transaction for a
``world_per_module`` module. Defined once for the whole suite (``tests/conftest.py``'s ``pytest_plugins``):
use them by name, never import them."""

from __future__ import annotations

import contextlib
import functools
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from sqlalchemy import (
    CompoundSelect,
    Connection,
    Engine,
    Select,
    create_engine,
    event,
    exists,
    func,
    insert,
    literal,
    select,
    text,
    union_all,
)
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.clock import utcnow
from neigou.kit.db import make_engine, make_session_factory
from neigou.kit.settings import get_settings
from neigou.migrations.registry import metadata
from neigou.migrations.runner import upgrade
from neigou.organizations.models import DEFAULT_ORGANIZATION_CODE, Organization
from tests.migration_templates import ScratchAt, SqliteTemplates
from tests.pg_database import claimed_database
from tests.suite import BACKEND, PG_ADMIN_URL, PG_TEST_DATABASE


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh database for this test run (on PostgreSQL, a schema of its own), made and dropped by the suite."""
    if BACKEND == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'neigou.db'}"
        return
    if BACKEND != "postgresql":
        raise pytest.UsageError(f"NEIGOU_TEST_DATABASE must be sqlite or postgresql, not {BACKEND!r}")
    with postgresql_schema("neigou_test") as url:
        yield url


@contextlib.contextmanager
def postgresql_schema(prefix: str) -> Iterator[str]:
    """The URL of a new, empty schema in the worker's test database (``PG_TEST_DATABASE``, or the first one
    after it no other test process holds: ``tests.pg_database``), dropped afterwards with every
    connection still using it. Every connection of the URL works in the schema (its ``search_path``),
    names itself after it (``application_name``) and commits without waiting for the disk.

    A schema rather than a new database per run: ``DROP DATABASE`` waits for a checkpoint of the whole
    server (tens of seconds at the end of a busy run), ``DROP SCHEMA`` does not."""
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    base = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + claimed_database(PG_ADMIN_URL, PG_TEST_DATABASE)
    owner = create_engine(base, isolation_level="AUTOCOMMIT")
    with owner.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        # A test database: a commit need not wait for its WAL to reach the disk (crash safety is moot).
        options = f"-csearch_path%3D{schema}%20-csynchronous_commit%3Doff"
        yield f"{base}?application_name={schema}&options={options}"
    finally:
        with owner.connect() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE application_name = :schema AND pid <> pg_backend_pid()"
                ),
                {"schema": schema},
            )
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        owner.dispose()


@pytest.fixture(scope="session")
def migration_templates(tmp_path_factory: pytest.TempPathFactory) -> SqliteTemplates:
    """The run's migrated SQLite templates, this process's own (``tests.migration_templates``)."""
    return SqliteTemplates(tmp_path_factory.mktemp("migration-templates"))


@pytest.fixture
def scratch_at(migration_templates: SqliteTemplates, tmp_path: Path) -> Iterator[ScratchAt]:
    """A migration test's own new database at a revision: ``scratch_at("0044")`` is its URL. On SQLite a
    copy of the run's template of 0044 (migrated from the base the first time it is asked for); on
    PostgreSQL a fresh schema migrated from the base. The test writes the older revision's rows into it
    and migrates it on itself."""
    with contextlib.ExitStack() as schemas:

        def at(revision: str) -> str:
            if BACKEND == "sqlite":
                return migration_templates.scratch(revision, tmp_path)
            url = schemas.enter_context(postgresql_schema("neigou_test_migrate"))
            upgrade(url, revision)
            return url

        yield at


@pytest.fixture
def migration_key(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The payee key the migrating process is configured with (migrations that seal read it)."""
    key = Fernet.generate_key().decode()
    monkeypatch.setenv("NEIGOU_PAYEE_KEYS", key)
    get_settings.cache_clear()
    yield key
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    """The migrated database."""
    upgrade(database_url)
    eng = make_engine(database_url)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def engine_factory(engine: Engine) -> sessionmaker[Session]:
    """Session factory bound to the test database's engine (each session its own connection)."""
    return make_session_factory(engine)


def _empty(eng: Engine) -> None:
    """Empty every table (on PostgreSQL, restart the id sequences too)."""
    with eng.begin() as conn:
        if eng.dialect.name == "postgresql":
            _empty_postgresql(conn)
        else:
            for table in reversed(metadata.sorted_tables):
                conn.execute(table.delete())
        # The migration's default organization: where unscoped callers' programs and catalog go.
        conn.execute(
            insert(Organization).values(code=DEFAULT_ORGANIZATION_CODE, name="Default", created_at=utcnow())
        )


@functools.cache
def _used_tables_query() -> CompoundSelect[tuple[str]]:
    """The tables holding a row, in one round trip (built once every model is imported)."""
    return union_all(
        *(select(literal(t.name)).where(exists().select_from(t)) for t in metadata.sorted_tables)
    )


# The sequences a test has drawn from (``last_value`` is null until the first ``nextval``).
_USED_SEQUENCES = (
    "SELECT format('%I.%I', schemaname, sequencename) FROM pg_sequences"
    " WHERE schemaname = current_schema() AND last_value IS NOT NULL"
)


def _empty_postgresql(conn: Connection) -> None:
    """Delete the rows of the tables that hold any, children first, and restart the sequences drawn from:
    the same end state as ``TRUNCATE … RESTART IDENTITY`` of every table, which costs a new file per table
    and index (seconds per test on a loaded machine) where a test writes to a handful of tables."""
    conn.execute(text("SET LOCAL synchronous_commit = off"))  # a test database: no need to wait for the disk
    used = set(conn.scalars(_used_tables_query()))
    for table in reversed(metadata.sorted_tables):
        if table.name in used:
            conn.execute(table.delete())
    for sequence in conn.scalars(text(_USED_SEQUENCES)).all():
        conn.execute(text(f"ALTER SEQUENCE {sequence} RESTART"))


def world_per_module(request: pytest.FixtureRequest) -> bool:
    """True in a module marked ``world_per_module`` (see ``module_database``)."""
    return request.node.get_closest_marker("world_per_module") is not None


@dataclass(frozen=True)
class ModuleDatabase:
    """One connection held for a whole module, inside a transaction rolled back at the module's end."""

    connection: Connection
    factory: sessionmaker[Session]


def _savepoint_engine(database_url: str) -> Engine:
    """An engine whose connections nest savepoints inside an outer transaction. SQLite's driver would
    begin transactions its own way and let a savepoint escape: SQLAlchemy emits BEGIN instead."""
    eng = make_engine(database_url)
    if eng.dialect.name == "sqlite":

        @event.listens_for(eng, "connect")
        def _no_driver_begin(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None

        @event.listens_for(eng, "begin")
        def _begin(conn: Connection) -> None:
            conn.exec_driver_sql("BEGIN")

    return eng


@pytest.fixture(scope="module")
def module_database(
    request: pytest.FixtureRequest, database_url: str, engine: Engine
) -> Iterator[ModuleDatabase]:
    """The database of a ``world_per_module`` module: one connection and an outer transaction. The
    module's world is written into it once; each test runs in a savepoint rolled back after it
    (``_clean``). Every session (the app's and the test's) joins with a savepoint of its own, so its
    ``commit`` releases that savepoint and nothing reaches another connection."""
    if not world_per_module(request):
        raise pytest.UsageError(f"{request.node.nodeid}: module_database needs pytest.mark.world_per_module")
    eng = _savepoint_engine(database_url)
    connection = eng.connect()
    outer = connection.begin()
    module_factory = sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False, autoflush=True
    )
    try:
        yield ModuleDatabase(connection, module_factory)
    finally:
        outer.rollback()
        connection.close()
        eng.dispose()
        _empty(engine)  # no rows are left; this restarts PostgreSQL's id sequences for the next module


@pytest.fixture(scope="module")
def module_factory(module_database: ModuleDatabase) -> sessionmaker[Session]:
    """Session factory for building a ``world_per_module`` module's world."""
    return module_database.factory


@pytest.fixture
def factory(request: pytest.FixtureRequest, engine_factory: sessionmaker[Session]) -> sessionmaker[Session]:
    """Session factory of the test (in a ``world_per_module`` module, on the module's connection)."""
    if world_per_module(request):
        database: ModuleDatabase = request.getfixturevalue("module_database")
        return database.factory
    return engine_factory


@pytest.fixture(autouse=True)
def _clean(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test starts from empty tables; in a ``world_per_module`` module, from the module's world:
    the test runs in a savepoint rolled back after it, and the client's cookies are restored."""
    if world_per_module(request):
        database: ModuleDatabase = request.getfixturevalue("module_database")
        module_client: TestClient = request.getfixturevalue("module_client")
        cookies = dict(module_client.cookies)
        savepoint = database.connection.begin_nested()
        yield
        if savepoint.is_active:
            savepoint.rollback()
        module_client.cookies.clear()
        module_client.cookies.update(cookies)
        return
    yield
    if "engine" in request.fixturenames:
        _empty(request.getfixturevalue("engine"))


def row_counts(factory: sessionmaker[Session]) -> dict[str, int]:
    """Rows per table: a denied call must leave every count as it was."""
    with factory() as session:
        counts = session.execute(_row_counts_query()).one()
    return {name: int(count) for name, count in counts._mapping.items()}


@functools.cache
def _row_counts_query() -> Select[Any]:
    """Every table's row count in one round trip (built once every model is imported)."""
    return select(
        *(select(func.count()).select_from(t).scalar_subquery().label(t.name) for t in metadata.sorted_tables)
    )
