"""Test fixtures: a real database (SQLite or PostgreSQL, by NEIGOU_TEST_DATABASE), migrated with Alembic."""

from __future__ import annotations

import contextlib
import functools
import gc
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from unittest import mock

import httpx
import pytest
from argon2 import PasswordHasher
from cryptography.fernet import Fernet
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import settings as hypothesis_settings
from itsdangerous import URLSafeSerializer
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

from neigou.auth import passwords
from neigou.auth import service as auth
from neigou.auth.models import Role
from neigou.feed import posts
from neigou.kit import jobs
from neigou.kit.actor import Actor
from neigou.kit.clock import not_before_now, utcnow
from neigou.kit.db import make_engine, make_session_factory, transaction
from neigou.kit.settings import Settings, get_settings
from neigou.migrations.registry import metadata
from neigou.migrations.runner import upgrade
from neigou.organizations.models import DEFAULT_ORGANIZATION_CODE, Organization
from neigou.web.app import create_app
from neigou.web.forms import CSRF_COOKIE
from tests.pg_database import claimed_database

# Tests hash and check thousands of console passwords; Argon2id at its lowest cost keeps the format and
# every check the same. Served processes (``neigou serve`` in the log test, ``neigou demo``) and
# production keep argon2-cffi's defaults.
passwords._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)

BACKEND = os.environ.get("NEIGOU_TEST_DATABASE", "sqlite")
PG_ADMIN_URL = os.environ.get("NEIGOU_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
# The PostgreSQL database the suite works in (created on first use, kept), a schema per worker and run.
# Each pytest-xdist worker has a database of its own, and so has each run beside another one
# (``tests.pg_database``): advisory locks (the opt-out's, ``privacy.repository``) are the database's, not a
# schema's, and a ``world_per_module`` module holds the ones its world and tests took until the module
# ends; in one shared database another worker or run, building the same world with the same customers,
# would wait for them.
PG_TEST_DATABASE = os.environ.get("NEIGOU_TEST_PG_DATABASE", "neigou_tests") + (
    f"_{worker}" if (worker := os.environ.get("PYTEST_XDIST_WORKER")) else ""
)
TEST_ACTOR = Actor(kind="cli", ref="tests", label="tests")
SECRET = "test-secret-key"
# Why a ``postgres_only`` test without a reason of its own is skipped on SQLite.
PARALLEL_CONNECTIONS = "needs real parallel connections (PostgreSQL); SQLite has one writer at a time"
# Markers of tests that run once, on SQLite.
RUN_ONCE = ("browser", "sqlite_only", "no_database")
# Speed is the benchmarks' to measure (bench/), not the tests': a property test must not fail because a
# loaded machine took 400 ms over an example (Hypothesis's default deadline is 200 ms).
hypothesis_settings.register_profile("neigou", deadline=None)
hypothesis_settings.load_profile("neigou")


# The garbage collector's cost grows with the heap, and a test process holds the whole app, SQLAlchemy's
# and FastAPI's machinery and every test module: at the default threshold (700 allocations) it scanned that
# heap's young objects thousands of times per module, about a tenth of a process's CPU. Collections come
# less often (cycles are still freed, a little later), and what the imports and the collection made is
# frozen once collected: it lives as long as the process, so no full collection walks it again.
gc.set_threshold(10_000, 20, 100)


def pytest_collection_finish(session: pytest.Session) -> None:
    gc.collect()
    gc.freeze()


def pytest_report_header() -> str:
    return f"neigou test database: {BACKEND}"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser and demo-world tests run once, on SQLite: the demo they drive is a SQLite product
    (``neigou demo``), and every rule behind those pages is tested on both databases through the API.
    Tests marked ``no_database`` never touch the application's database (pure rules, the analytics
    store's own engines), so they run once too; one that asks for the database is a usage error.
    Tests marked ``postgres_only`` run on PostgreSQL only (``_skip_postgres_only``)."""
    for item in items:
        if item.get_closest_marker("no_database") and "database_url" in getattr(item, "fixturenames", ()):
            raise pytest.UsageError(f"{item.nodeid} is marked no_database but uses the database")
    _refuse_own_demo_fixtures(items)
    _skip_postgres_only(items)
    if BACKEND != "postgresql":
        return
    once = pytest.mark.skip(
        reason="runs on SQLite only (browser, demo-world and database-free tests run once)"
    )
    for item in items:
        if any(item.get_closest_marker(name) for name in RUN_ONCE):
            item.add_marker(once)


def _refuse_own_demo_fixtures(items: list[pytest.Item]) -> None:
    """A test module or conftest that imports the demo world's fixtures owns copies of them, and would seed
    the demo again: a usage error (they are this conftest's, see the end of the file)."""
    from tests import demo_world

    modules = {id(m): m for m in (getattr(item, "module", None) for item in items) if m is not None}
    if items:
        for plugin in items[0].config.pluginmanager.get_plugins():
            if getattr(plugin, "__name__", "").startswith("tests.") and plugin.__name__ != __name__:
                modules[id(plugin)] = plugin
    for module in modules.values():
        for name in ("demo_template", "demo_url", "demo_factory"):
            if getattr(module, name, None) is getattr(demo_world, name):
                raise pytest.UsageError(
                    f"{module.__name__} imports the fixture {name}: it is tests/conftest.py's, use it by name"
                )


def _skip_postgres_only(items: list[pytest.Item]) -> None:
    """A test marked ``postgres_only`` means nothing on SQLite (a race of real parallel connections, COPY, a
    set-based write of PostgreSQL's): it is skipped there, with the marker's ``reason`` or
    ``PARALLEL_CONNECTIONS``. A test that checks rules on both databases and races only on PostgreSQL is
    not marked (or is split in two). The marker takes no other argument, and a test marked to run once on
    SQLite cannot be PostgreSQL's only."""
    for item in items:
        marker = item.get_closest_marker("postgres_only")
        if marker is None:
            continue
        if marker.args or set(marker.kwargs) - {"reason"}:
            raise pytest.UsageError(f"{item.nodeid}: postgres_only takes only reason=...")
        if any(item.get_closest_marker(name) for name in RUN_ONCE):
            raise pytest.UsageError(f"{item.nodeid} is marked postgres_only and to run once on SQLite")
        if BACKEND != "postgresql":
            item.add_marker(pytest.mark.skip(reason=marker.kwargs.get("reason", PARALLEL_CONNECTIONS)))


# The test worlds that post (the feed's, the authorization matrix's) are dated 24 March 2026, and a post
# dated before its clock is made at the clock's time (``feed.posts``): their posts are made then, not at
# the machine's clock. A test of that rule moves the clock (``tests.campaigns.builders.posts_clock``).
WORLDS_NOW = datetime(2026, 3, 24, 4, 0, tzinfo=UTC)


@pytest.fixture(scope="session", autouse=True)
def _posts_at_the_worlds_time() -> Iterator[None]:
    with mock.patch.object(posts, "not_before_now", functools.partial(not_before_now, now=WORLDS_NOW)):
        yield


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


@pytest.fixture
def scratch_url(tmp_path: Path) -> Iterator[str]:
    """A database of a migration test's own: a SQLite file, or a fresh schema on PostgreSQL."""
    if BACKEND == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrate.db'}"
        return
    with postgresql_schema("neigou_test_migrate") as url:
        yield url


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


def app_settings(database_url: str, directory: Path) -> Settings:
    """Settings of an app under test: jobs run immediately after commit, clicks written by a thread."""
    return Settings(
        database_url=database_url,
        secret_key=SECRET,
        jobs_backend="immediate",
        jobs_path=str(directory / "jobs.db"),
        click_writer="thread",  # a writer process per app would cost each test a fresh interpreter
        # Tests flush clicks themselves: a background flush in the middle of a test makes what a flush
        # returns, and what is still buffered, depend on the machine's load.
        click_flush_seconds=3600,
        public_url="http://testserver",  # the test client's host: links read as before
    )


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Settings for an app under test: jobs run immediately after commit."""
    return app_settings(database_url, tmp_path)


@pytest.fixture
def app(request: pytest.FixtureRequest, settings: Settings, factory: sessionmaker[Session]) -> FastAPI:
    """The application wired to the test database (in a ``world_per_module`` module, the module's)."""
    if world_per_module(request):
        module_app: FastAPI = request.getfixturevalue("module_app")
        return module_app
    return create_app(settings, session_factory=factory)


@pytest.fixture
def client(request: pytest.FixtureRequest, app: FastAPI) -> Iterator[TestClient]:
    """An HTTP client for the app, lifespan included (in a ``world_per_module`` module, the module's)."""
    if world_per_module(request):
        yield request.getfixturevalue("module_client")
        return
    with page_client(app) as test_client:
        yield test_client


def page_client(app: FastAPI) -> TestClient:
    """A test client that sends the CSRF token of the pages it opened with each request (header
    ``X-CSRFToken``), as a browser sends a form's hidden field. The refusals are tested with a bare
    ``TestClient`` (``tests/web/test_forms.py``), the forms themselves by the browser tests."""
    client = TestClient(app)
    # As if a page with a form had been opened: the cookie asgi-csrf would have set.
    signer = URLSafeSerializer(app.state.settings.secret_key)
    client.cookies.set(CSRF_COOKIE, signer.dumps(uuid.uuid4().hex, "csrftoken"))

    def send_token(request: httpx.Request) -> None:
        token = client.cookies.get(CSRF_COOKIE)
        if token and "x-csrftoken" not in request.headers:
            request.headers["x-csrftoken"] = token

    client.event_hooks["request"].append(send_token)
    return client


@pytest.fixture(scope="module")
def module_app(
    database_url: str, tmp_path_factory: pytest.TempPathFactory, module_database: ModuleDatabase
) -> FastAPI:
    """The app of a ``world_per_module`` module, on the module's connection."""
    directory = tmp_path_factory.mktemp("app")
    return create_app(app_settings(database_url, directory), session_factory=module_database.factory)


@pytest.fixture(scope="module")
def module_client(module_app: FastAPI) -> Iterator[TestClient]:
    """The HTTP client of a ``world_per_module`` module, for building its world."""
    with page_client(module_app) as test_client:
        yield test_client


TokenMaker = Callable[..., str]


def _token_maker(factory: sessionmaker[Session]) -> TokenMaker:
    def make(
        role: Role | str,
        member_id: int | None = None,
        organization_id: int | None = None,
        merchant_id: int | None = None,
    ) -> str:
        with transaction(factory) as session:
            _, secret = auth.create_token(
                session,
                role=Role(role),
                member_id=member_id,
                merchant_id=merchant_id,
                organization_id=organization_id,
                actor=TEST_ACTOR,
            )
        return secret

    return make


@pytest.fixture
def make_token(factory: sessionmaker[Session]) -> TokenMaker:
    """Issue a token of a role (member tokens name their member)."""
    return _token_maker(factory)


def bearer(token: str) -> dict[str, str]:
    """Authorization header for a token."""
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def operator(make_token: TokenMaker) -> dict[str, str]:
    """Headers of an operator."""
    return bearer(make_token(Role.OPERATOR))


@pytest.fixture(scope="module")
def module_make_token(module_database: ModuleDatabase) -> TokenMaker:
    """``make_token`` for building a ``world_per_module`` module's world."""
    return _token_maker(module_database.factory)


@pytest.fixture(scope="module")
def module_operator(module_make_token: TokenMaker) -> dict[str, str]:
    """Operator headers for building a ``world_per_module`` module's world."""
    return bearer(module_make_token(Role.OPERATOR))


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


@pytest.fixture
def jobs_runner(app: FastAPI) -> jobs.JobRunner:
    """The app's job runner, installed for the test."""
    runner: jobs.JobRunner = app.state.jobs
    jobs.install(runner)
    return runner


# The demo world's fixtures, defined here once for the whole suite (a fixture imported into a module is
# that module's own, and a session-scoped one would be built again for it). Imported last: the module
# reads this one's names.
from tests.demo_world import demo_factory, demo_template, demo_url  # noqa: E402, F401 - fixtures
