"""A Redis that accepts connections and never answers: a request waits for it about
``redis_socket_timeout_s`` (not the client library's own default of 5 s, nor for ever as before it had
one) and is answered 503 ``overloaded`` with ``Retry-After``, and a stream reader's read fails as
quickly (its loop logs it and tries again), instead of holding their threads."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.events.runtime import EventsRuntime
from neigou.kit.settings import Settings, with_timeouts
from neigou.web.app import create_app
from tests.conftest import row_counts
from tests.events.test_api import _reserve, _world
from tests.lock_waits import assert_shed
from tests.silent_redis import finishes, silent_redis

TIMEOUT_S = 1.1
# Well past the configured timeout, well short of the library's default (5 s).
IN_TIME_S = 4.5
# How long the test waits at all: without any timeout nothing ends before the server closes.
PATIENCE_S = 60


def _silent(settings: Settings, url: str) -> Settings:
    return settings.model_copy(update={"redis_url": url, "redis_socket_timeout_s": TIMEOUT_S})


def test_a_request_waiting_on_a_silent_redis_is_answered_overloaded(
    client: TestClient, operator: dict[str, str], settings: Settings, factory: sessionmaker[Session]
) -> None:
    world = _world(client, operator)
    before = row_counts(factory)
    answers: list[tuple[httpx.Response, float]] = []
    with silent_redis() as url:
        silent = TestClient(
            create_app(_silent(settings, url), session_factory=factory), raise_server_exceptions=False
        )

        def reserve() -> None:
            with silent:
                started = time.monotonic()
                shed = _reserve(
                    silent, operator, world["event"], customer_ref="13800000001", employee_no="E1"
                )
                answers.append((shed, time.monotonic() - started))

        work = threading.Thread(target=reserve, daemon=True)
        work.start()
        answered = finishes(work, PATIENCE_S)
    assert answered, "the request still waits on a Redis that never answers"
    work.join(PATIENCE_S)  # the app's shutdown, once the server is gone
    ((shed, waited),) = answers
    assert waited < IN_TIME_S, waited
    assert_shed(shed)
    assert row_counts(factory) == before


def test_a_stream_reader_on_a_silent_redis_fails_its_read_in_time(
    settings: Settings, factory: sessionmaker[Session]
) -> None:
    failures: list[tuple[BaseException, float]] = []
    with silent_redis() as url:
        runtime = EventsRuntime.from_settings(_silent(settings, url), factory)
        assert runtime.writer is not None
        writer = runtime.writer

        def read() -> None:
            started = time.monotonic()
            try:
                writer.drain_once(block_ms=200)
            except redis.RedisError as exc:
                failures.append((exc, time.monotonic() - started))

        work = threading.Thread(target=read, daemon=True)
        work.start()
        answered = finishes(work, PATIENCE_S)
    assert answered, "the stream reader still waits on a Redis that never answers"
    ((failure, waited),) = failures
    assert isinstance(failure, redis.TimeoutError)
    assert waited < IN_TIME_S, waited
    writer.client.close()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("redis://h:6379/0", "redis://h:6379/0?socket_timeout=5&socket_connect_timeout=2"),
        ("redis://h/0?socket_timeout=30", "redis://h/0?socket_timeout=30&socket_connect_timeout=2"),
        (
            "rediss://:pw@h/1?ssl_cert_reqs=none",
            "rediss://:pw@h/1?ssl_cert_reqs=none&socket_timeout=5&socket_connect_timeout=2",
        ),
    ],
)
def test_the_clients_url_carries_the_timeouts_unless_it_sets_them(url: str, expected: str) -> None:
    assert with_timeouts(url, socket_s=5.0, connect_s=2.0) == expected
    assert Settings(redis_url=url).redis_client_url == expected  # the defaults: 5 s and 2 s
    client: Any = redis.Redis.from_url(expected)
    kwargs = client.connection_pool.connection_kwargs
    assert kwargs["socket_timeout"] == (30.0 if "=30" in url else 5.0)
    assert kwargs["socket_connect_timeout"] == 2.0
