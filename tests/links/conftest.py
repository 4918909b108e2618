"""Fixtures of the links tests that need a service beside the database."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import redis

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def redis_client() -> Iterator[redis.Redis]:
    """A client of the local Redis (the test is skipped without one, unless services are required)."""
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError:
        if os.environ.get("NEIGOU_REQUIRE_SERVICES"):
            pytest.fail("Redis must answer on 127.0.0.1:6379 (NEIGOU_REQUIRE_SERVICES is set)")
        pytest.skip("Redis is not running on 127.0.0.1:6379 (scripts/test and CI start it)")
    yield client
    client.close()
