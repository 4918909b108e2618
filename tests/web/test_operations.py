"""Liveness, readiness and metrics: ``/healthz`` never touches the database, ``/readyz`` reports each
dependency, ``/metrics`` is Prometheus text by route template for operators and the scraper's token,
and a pool that has no connection to give answers 503 ``overloaded``, not 500."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
import redis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth.models import Role
from neigou.kit.db import make_engine, make_session_factory
from neigou.kit.settings import Settings
from neigou.web.app import create_app
from tests.conftest import TokenMaker, bearer, row_counts
from tests.factories import create_member, create_program
from tests.links.builders import SHAMPOO, make_link
from tests.local_redis import REDIS_URL, local_redis
from tests.offers.factories import product

SCRAPER_TOKEN = "scrape-me-0123456789abcdef"
DEAD_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1


def _sample(name: str, labels: dict[str, str] | None = None) -> float:
    return REGISTRY.get_sample_value(name, labels or {}) or 0.0


@pytest.fixture
def starved(settings: Settings, database_url: str) -> Iterator[tuple[FastAPI, Engine]]:
    """An app whose pool has one connection, waited for 0.2 s; the test holds that connection."""
    engine = make_engine(database_url, pool_size=1, max_overflow=0, pool_timeout=0.2)
    yield create_app(settings, session_factory=make_session_factory(engine)), engine
    engine.dispose()


def test_liveness_answers_and_readiness_fails_while_the_pool_is_exhausted(
    starved: tuple[FastAPI, Engine], make_token: TokenMaker
) -> None:
    app, engine = starved
    operator = bearer(make_token(Role.OPERATOR))
    with TestClient(app) as client:
        assert client.get("/readyz").json()["checks"]["database"] == "ok"
        timeouts = _sample("neigou_db_pool_timeouts_total")
        with engine.connect():  # the only connection
            assert client.get("/healthz").json() == {"status": "ok"}
            ready = client.get("/readyz")
            assert ready.status_code == 503
            assert ready.json()["code"] == "not_ready"
            assert ready.json()["checks"]["database"] == "TimeoutError"
            busy = client.get("/api/v1/programs", headers=operator)
            assert busy.status_code == 503
            assert busy.json()["code"] == "overloaded"
            assert busy.headers["retry-after"] == "1"
            assert busy.headers["retry-after-ms"] == "1000"
        assert _sample("neigou_db_pool_timeouts_total") == timeouts + 1
        assert client.get("/api/v1/programs", headers=operator).status_code == 200


def test_readiness_lists_every_dependency(client: TestClient) -> None:
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {
        "status": "ready",
        "checks": {"database": "ok", "click_writer": "ok", "jobs": "ok"},
    }


def test_readiness_fails_while_the_click_writer_is_not_running(app: FastAPI) -> None:
    client = TestClient(app)  # no lifespan: nothing was started
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.headers["content-type"] == "application/problem+json"
    assert ready.json()["checks"] == {"database": "ok", "click_writer": "not running", "jobs": "ok"}
    assert client.get("/healthz").status_code == 200


def test_metrics_are_only_for_operators_and_the_scraper(
    settings: Settings,
    factory: sessionmaker[Session],
    make_token: TokenMaker,
    operator: dict[str, str],
) -> None:
    app = create_app(settings.model_copy(update={"metrics_token": SCRAPER_TOKEN}), session_factory=factory)
    with TestClient(app) as client:
        program = create_program(client, operator)
        member = create_member(client, operator, program["id"], "群主")
        denied = {
            "anonymous": ({}, 401),
            "malformed": ({"Authorization": "Basic abc"}, 401),
            "unknown token": (bearer("not-the-scraper-token"), 401),
            "member": (bearer(make_token(Role.MEMBER, member["id"])), 403),
            "integration": (bearer(make_token(Role.INTEGRATION)), 403),
        }
        before = row_counts(factory)
        for who, (headers, status) in denied.items():
            response = client.get("/metrics", headers=headers)
            assert (who, response.status_code) == (who, status)
            assert response.headers["content-type"] == "application/problem+json"
        for headers in (operator, bearer(SCRAPER_TOKEN)):
            response = client.get("/metrics", headers=headers)
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/plain; version=")
        assert row_counts(factory) == before


def test_metrics_count_requests_by_route_template(client: TestClient, operator: dict[str, str]) -> None:
    program = create_program(client, operator)
    labels = {"method": "GET", "route": "/api/v1/programs/{program_id}", "status": "200"}
    before = _sample("neigou_http_requests_total", labels)
    for _ in range(3):
        assert client.get(f"/api/v1/programs/{program['id']}", headers=operator).status_code == 200
    assert client.get("/api/v1/programs/999999", headers=operator).status_code == 404
    text = client.get("/metrics", headers=operator).text
    assert _sample("neigou_http_requests_total", labels) == before + 3
    assert _sample("neigou_http_request_duration_seconds_count", labels) >= 3
    assert f"/api/v1/programs/{program['id']}" not in text  # ids never become labels
    assert 'route="/api/v1/programs/{program_id}",status="404"' in text
    for gauge in (
        "neigou_http_requests_in_flight",
        "neigou_db_pool_connections_in_use",
        "neigou_db_pool_overflow_in_use",
        "neigou_jobs_queued",
        "neigou_click_backlog",
        "neigou_http_requests_shed_total",
    ):
        assert f"\n{gauge} " in text


def test_share_link_redirects_are_counted(client: TestClient, operator: dict[str, str]) -> None:
    program = create_program(client, operator)
    member = create_member(client, operator, program["id"], "群主")
    product(client, operator, SHAMPOO, 4990)
    code = make_link(client, operator, member_id=member["id"])["code"]
    before = _sample("neigou_share_link_redirects_total")
    for _ in range(2):  # the first loads the code, the second takes the fast path
        assert client.get(f"/l/{code}", follow_redirects=False).status_code == 302
    assert _sample("neigou_share_link_redirects_total") == before + 2


def test_multiprocess_mode_sums_the_workers(tmp_path: os.PathLike[str]) -> None:
    """With PROMETHEUS_MULTIPROC_DIR set before import, values go through the shared directory."""
    script = (
        "from neigou.kit import metrics\n"
        "assert metrics.multiprocess_mode()\n"
        "metrics.SHED.inc(3)\n"
        "metrics.CLICK_BACKLOG.set(7)\n"
        "print(metrics.exposition().decode())\n"
        "metrics.process_exited()\n"
        "print('after exit:', 'neigou_click_backlog 7.0' in metrics.exposition().decode())\n"
    )
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", script], env=env, check=True, capture_output=True, text=True)
    assert "neigou_http_requests_shed_total 3.0" in out.stdout
    assert "neigou_click_backlog 7.0" in out.stdout
    assert "after exit: False" in out.stdout  # a stopped worker's live gauges leave the sum


@pytest.mark.parametrize(("url", "state"), [(DEAD_REDIS, "ConnectionError"), (REDIS_URL, "ok")])
def test_readiness_checks_redis_when_one_is_configured(
    settings: Settings, factory: sessionmaker[Session], url: str, state: str
) -> None:
    """Redis backs the claims, the stock gate and the rate limits whatever the jobs backend: a Redis
    that does not answer makes the process not ready, by name."""
    if url == REDIS_URL:
        local_redis().close()  # it answers (or the test is skipped or fails, as the suite runs)
    app = create_app(settings.model_copy(update={"redis_url": url}), session_factory=factory)
    with TestClient(app) as client:
        ready = client.get("/readyz")
    assert ready.json()["checks"] == {"database": "ok", "click_writer": "ok", "jobs": "ok", "redis": state}
    assert ready.status_code == (200 if state == "ok" else 503)
    if state != "ok":
        assert ready.json()["code"] == "not_ready"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?socket_timeout=30&socket_connect_timeout=30", (2.0, 2.0)),  # the URL's own: capped at the probe's
        ("", (0.5, 0.25)),  # the deployment's shorter timeouts (``redis_client_url``) kept
    ],
)
def test_the_redis_probe_is_built_from_the_client_url_within_its_deadline(
    settings: Settings,
    factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
    query: str,
    expected: tuple[float, float],
) -> None:
    """The readiness probe's client is made as every Redis client is (``Settings.redis_client_url``),
    its timeouts no longer than the probe's 2 s whatever the URL asks."""
    configured = settings.model_copy(
        update={
            "redis_url": DEAD_REDIS + query,
            "redis_socket_timeout_s": 0.5,
            "redis_connect_timeout_s": 0.25,
        }
    )
    app = create_app(configured, session_factory=factory)
    seen: list[tuple[object, object]] = []

    def ping(client: redis.Redis) -> bool:
        options = client.connection_pool.connection_kwargs
        seen.append((options.get("socket_timeout"), options.get("socket_connect_timeout")))
        return True

    monkeypatch.setattr(redis.Redis, "ping", ping)
    app.state.operations._redis()
    assert seen == [expected]
