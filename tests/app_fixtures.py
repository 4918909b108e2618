"""The application's fixtures: settings, the app and its test client (a ``world_per_module`` module's
own), tokens and the job runner. Defined once for the whole suite (``tests/conftest.py``'s
``pytest_plugins``): use them by name, never import them; ``app_settings``, ``page_client``, ``bearer``
and ``TokenMaker`` are plain helpers to import."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from itsdangerous import URLSafeSerializer
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth import service as auth
from neigou.auth.models import Role
from neigou.kit import jobs
from neigou.kit.db import transaction
from neigou.kit.settings import Settings
from neigou.links import stock_gate
from neigou.web.app import create_app
from neigou.web.forms import CSRF_COOKIE
from tests.database_fixtures import ModuleDatabase, world_per_module
from tests.suite import SECRET, TEST_ACTOR


def app_settings(database_url: str, directory: Path, *, local_receivers: bool = False) -> Settings:
    """Settings of an app under test: jobs run immediately after commit, clicks written by a thread.
    Outbound calls go to public addresses only, as in production, unless ``local_receivers`` (a module
    marked ``local_receivers`` whose stub robots and webhooks listen on 127.0.0.1)."""
    return Settings(
        outbound_allow_private=local_receivers,
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


def local_receivers(request: pytest.FixtureRequest) -> bool:
    """Whether the test's module is marked ``local_receivers``: its app may call 127.0.0.1."""
    return request.node.get_closest_marker("local_receivers") is not None


@pytest.fixture
def settings(request: pytest.FixtureRequest, database_url: str, tmp_path: Path) -> Settings:
    """Settings for an app under test: jobs run immediately after commit."""
    return app_settings(database_url, tmp_path, local_receivers=local_receivers(request))


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
    request: pytest.FixtureRequest,
    database_url: str,
    tmp_path_factory: pytest.TempPathFactory,
    module_database: ModuleDatabase,
) -> FastAPI:
    """The app of a ``world_per_module`` module, on the module's connection."""
    directory = tmp_path_factory.mktemp("app")
    settings = app_settings(database_url, directory, local_receivers=local_receivers(request))
    return create_app(settings, session_factory=module_database.factory)


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


@pytest.fixture
def short_lock_wait(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """The client's app waits 50 ms for a lock it bounds (``NEIGOU_LOCK_WAIT_MS``, ``kit.lock_wait``): a
    test holding such a lock sees the request answered without waiting the default five seconds."""
    monkeypatch.setattr(client.app.state.settings, "lock_wait_ms", 50)  # type: ignore[attr-defined]


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


@pytest.fixture
def jobs_runner(app: FastAPI) -> jobs.JobRunner:
    """The app's job runner, installed for the test."""
    runner: jobs.JobRunner = app.state.jobs
    jobs.install(runner)
    return runner


@pytest.fixture(autouse=True)
def _stock_gates_closed() -> Iterator[None]:
    """Claim gates a test made and left registered (an app never stopped, a gate built by hand) are
    taken out after it: a later test's change of stock would check through them, against a Redis that
    may be gone."""
    before = set(stock_gate._GATES)
    yield
    for gate in set(stock_gate._GATES) - before:
        gate.close()
