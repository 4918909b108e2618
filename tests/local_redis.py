"""The local Redis the tests talk to for real (``scripts/test`` and CI start it)."""

from __future__ import annotations

import os

import pytest
import redis

REDIS_URL = "redis://127.0.0.1:6379/0"


def local_redis() -> redis.Redis:
    """A client of the local Redis, once it answers: without one the test is skipped, or fails when
    the run requires its services (``NEIGOU_REQUIRE_SERVICES``)."""
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError:
        client.close()
        if os.environ.get("NEIGOU_REQUIRE_SERVICES"):
            pytest.fail("Redis must answer on 127.0.0.1:6379 (NEIGOU_REQUIRE_SERVICES is set)")
        pytest.skip("Redis is not running on 127.0.0.1:6379 (scripts/test and CI start it)")
    return client
