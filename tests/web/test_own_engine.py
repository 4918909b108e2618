"""An app that made its own engine closes it on shutdown, after the click writer's last flush, or, never
served, when it is dropped; an engine the caller passed in stays the caller's."""

from __future__ import annotations

import gc
import warnings

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

from neigou.kit.settings import Settings
from neigou.links.models import LinkClick
from neigou.web.app import create_app
from tests.connections import OpenConnections
from tests.factories import create_member, create_program
from tests.links.builders import SHAMPOO, make_link
from tests.offers.factories import product

REDIS_PORT = 6379


def test_an_app_with_its_own_engine_leaves_no_connection_open_after_shutdown(
    client: TestClient, operator: dict[str, str], settings: Settings, factory: sessionmaker[Session]
) -> None:
    program = create_program(client, operator)
    member = create_member(client, operator, program["id"], "群主")
    product(client, operator, SHAMPOO, 4990)
    code = make_link(client, operator, member_id=member["id"])["code"]
    assert settings.redis_url is None
    app = create_app(settings)  # no session factory: the app makes its engine
    gc.collect()  # what earlier tests left to the collector goes now, not while this one runs
    with warnings.catch_warnings(record=True) as caught, OpenConnections() as connections:
        warnings.simplefilter("always", ResourceWarning)
        with TestClient(app) as served:
            assert served.get(f"/l/{code}", follow_redirects=False).status_code == 302
            assert served.get("/readyz").status_code == 200
            assert app.state.clicks.pending == 1  # left for the shutdown's last flush
        left_open = connections.count  # a connection the collector may close later counts as open
        gc.collect()
    assert connections.opened > 0
    assert left_open == 0
    # This app has no Redis: a Redis socket reported here is one an earlier test's client left to the
    # collector, released while this test ran (seen with parallel workers on PostgreSQL).
    unclosed = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    assert [message for message in unclosed if f"{REDIS_PORT})" not in message] == []
    with factory() as session:  # the flush ran before the engine was disposed
        assert session.scalar(select(func.count()).select_from(LinkClick)) == 1


def test_an_engine_passed_in_is_still_the_callers_after_shutdown(
    operator: dict[str, str], settings: Settings, factory: sessionmaker[Session], engine: Engine
) -> None:
    pool = engine.pool
    assert isinstance(pool, QueuePool)
    with TestClient(create_app(settings, session_factory=factory)) as served:
        assert served.get("/readyz").status_code == 200
    unserved = TestClient(create_app(settings, session_factory=factory))  # no lifespan
    assert unserved.get("/api/v1/programs", headers=operator).status_code == 200
    del served, unserved
    gc.collect()  # both apps are gone, neither lifespan disposed anything, nor does their collection
    assert engine.pool is pool  # not disposed (a disposed engine gets a new pool)
    assert pool.checkedin() > 0  # the app's connections went back to it, still open
    with engine.connect() as connection:
        assert connection.scalar(text("select 1")) == 1


def test_an_app_whose_lifespan_never_ran_closes_its_engine_when_it_is_dropped(
    client: TestClient, operator: dict[str, str], settings: Settings
) -> None:
    create_program(client, operator)
    gc.collect()  # what earlier tests left to the collector goes now, not while this one runs
    with warnings.catch_warnings(record=True) as caught, OpenConnections() as connections:
        warnings.simplefilter("always", ResourceWarning)
        app = create_app(settings)  # its own engine, and never served: no lifespan runs
        unserved = TestClient(app)  # no ``with``: requests without start-up or shutdown
        assert unserved.get("/api/v1/programs", headers=operator).status_code == 200
        assert connections.opened > 0
        del unserved, app
        gc.collect()  # the app is gone: its engine is disposed with it, not left to the collector
        left_open = connections.count
    assert left_open == 0
    unclosed = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    assert [message for message in unclosed if f"{REDIS_PORT})" not in message] == []
