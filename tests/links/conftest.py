"""Fixtures of the links tests that need a service beside the database."""

from __future__ import annotations

import uuid
from collections.abc import Generator, Iterator

import pytest
import redis
from fastapi import FastAPI

from neigou.links.ratelimit import ClaimLimiter
from neigou.links.stock_gate import StockGate
from tests.local_redis import local_redis


@pytest.fixture
def redis_client() -> Iterator[redis.Redis]:
    """A client of the local Redis (the test is skipped without one, unless services are required)."""
    client = local_redis()
    yield client
    client.close()


def behind_gate() -> Generator[StockGate, None, None]:
    """A stock gate that writes claims behind (``claim_stream``) in a namespace of its own, removed
    afterwards: the body of a fixture (the test is skipped without Redis, unless services are
    required)."""
    client = local_redis()
    namespace = f"neigou-test:{uuid.uuid4().hex[:8]}"
    stock = StockGate(client, namespace, write_behind=True)
    yield stock
    stock.close()
    for key in client.scan_iter(f"{namespace}:*"):
        client.delete(key)
    client.close()


def app_behind_gate(app: FastAPI) -> Generator[StockGate, None, None]:
    """The app's claims taken in Redis by ``behind_gate`` and stored by the claim writer, with a limiter
    loose enough for a test's claims: the body of a fixture."""
    for gate in behind_gate():
        app.state.links.gate = gate
        app.state.links.limiter = ClaimLimiter.for_redis(None, per_ip="100/minute", per_visitor="100/minute")
        try:
            yield gate
        finally:
            app.state.links.gate = None
