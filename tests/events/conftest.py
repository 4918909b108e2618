"""An app of the events tests with reservations gated in Redis."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import redis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.settings import Settings
from neigou.links.click_stream import namespace
from neigou.web.app import create_app

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def redis_app(settings: Settings, factory: sessionmaker[Session]) -> Iterator[FastAPI]:
    """The app with Redis configured (skipped without Redis unless services are required)."""
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError:
        if os.environ.get("NEIGOU_REQUIRE_SERVICES"):
            pytest.fail("Redis must answer on 127.0.0.1:6379 (NEIGOU_REQUIRE_SERVICES is set)")
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    prefix = namespace(settings.database_url)
    for key in client.scan_iter(f"{prefix}:event*"):
        client.delete(key)
    yield create_app(settings.model_copy(update={"redis_url": REDIS_URL}), session_factory=factory)
    for key in client.scan_iter(f"{prefix}:event*"):
        client.delete(key)
    client.close()


@pytest.fixture
def redis_client_app(redis_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(redis_app) as client:
        yield client
