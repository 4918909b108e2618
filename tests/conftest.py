"""Test fixtures: a real database (SQLite or PostgreSQL, by NEIGOU_TEST_DATABASE), migrated with Alembic."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth import service as auth
from neigou.auth.models import Role
from neigou.kit import jobs
from neigou.kit.actor import Actor
from neigou.kit.db import make_engine, make_session_factory, transaction
from neigou.kit.settings import Settings
from neigou.migrations.registry import metadata
from neigou.migrations.runner import upgrade
from neigou.web.app import create_app

BACKEND = os.environ.get("NEIGOU_TEST_DATABASE", "sqlite")
PG_ADMIN_URL = os.environ.get("NEIGOU_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
TEST_ACTOR = Actor(kind="cli", ref="tests", label="tests")
SECRET = "test-secret-key"


def pytest_report_header() -> str:
    return f"neigou test database: {BACKEND}"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser and demo-world tests run once, on SQLite: the demo they drive is a SQLite product
    (``neigou demo``), and every rule behind those pages is tested on both databases through the API."""
    if BACKEND != "postgresql":
        return
    once = pytest.mark.skip(reason="runs on SQLite only (browser and demo-world tests run once)")
    for item in items:
        if item.get_closest_marker("browser") or item.get_closest_marker("sqlite_only"):
            item.add_marker(once)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh database for this test run, created and dropped by the suite."""
    if BACKEND == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'neigou.db'}"
        return
    if BACKEND != "postgresql":
        raise pytest.UsageError(f"NEIGOU_TEST_DATABASE must be sqlite or postgresql, not {BACKEND!r}")
    name = f"neigou_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    """The migrated database."""
    upgrade(database_url)
    eng = make_engine(database_url)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def factory(engine: Engine) -> sessionmaker[Session]:
    """Session factory bound to the test database."""
    return make_session_factory(engine)


@pytest.fixture(autouse=True)
def _clean(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test starts from empty tables."""
    yield
    if "engine" not in request.fixturenames:
        return
    eng: Engine = request.getfixturevalue("engine")
    with eng.begin() as conn:
        if eng.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(metadata.sorted_tables):
                conn.execute(table.delete())


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Settings for an app under test: jobs run immediately after commit."""
    return Settings(
        database_url=database_url,
        secret_key=SECRET,
        jobs_backend="immediate",
        jobs_path=str(tmp_path / "jobs.db"),
        click_writer="thread",  # a writer process per app would cost each test a fresh interpreter
    )


@pytest.fixture
def app(settings: Settings, factory: sessionmaker[Session]) -> FastAPI:
    """The application wired to the test database."""
    return create_app(settings, session_factory=factory)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """An HTTP client for the app (lifespan included)."""
    with TestClient(app) as test_client:
        yield test_client


TokenMaker = Callable[..., str]


@pytest.fixture
def make_token(factory: sessionmaker[Session]) -> TokenMaker:
    """Issue a token of a role (member tokens name their member)."""

    def make(role: Role | str, member_id: int | None = None) -> str:
        with transaction(factory) as session:
            _, secret = auth.create_token(session, role=Role(role), member_id=member_id, actor=TEST_ACTOR)
        return secret

    return make


def bearer(token: str) -> dict[str, str]:
    """Authorization header for a token."""
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def operator(make_token: TokenMaker) -> dict[str, str]:
    """Headers of an operator."""
    return bearer(make_token(Role.OPERATOR))


def row_counts(factory: sessionmaker[Session]) -> dict[str, int]:
    """Rows per table: a denied call must leave every count as it was."""
    with factory() as session:
        return {
            t.name: int(session.scalar(select(func.count()).select_from(t)) or 0)
            for t in metadata.sorted_tables
        }


@pytest.fixture
def jobs_runner(app: FastAPI) -> jobs.JobRunner:
    """The app's job runner, installed for the test."""
    runner: jobs.JobRunner = app.state.jobs
    jobs.install(runner)
    return runner
