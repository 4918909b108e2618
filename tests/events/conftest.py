"""An app of the events tests with reservations gated in Redis (``gate_api``: its refunds give back to\nthe gate too)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.events import refunds
from neigou.events.gate import ReservationGate
from neigou.kit.settings import Settings
from neigou.kit.streams import namespace
from neigou.web.app import create_app
from tests.events.builders import gate_of, one_employee_event, reserve
from tests.local_redis import REDIS_URL, local_redis


@pytest.fixture
def redis_app(settings: Settings, factory: sessionmaker[Session]) -> Iterator[FastAPI]:
    """The app with Redis configured (skipped without Redis unless services are required)."""
    client = local_redis()
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


@pytest.fixture
def gate_api(redis_client_app: TestClient, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    """The Redis app, its refunds giving back to its gate (``refunds.settings_of``: the app's Redis)."""
    app: Any = redis_client_app.app
    monkeypatch.setattr(refunds, "settings_of", lambda _session: app.state.settings)
    return redis_client_app


@dataclass
class Gated:
    """A live event behind the Redis gate (``one_employee_event``), its app's runtime and gate, and the
    event's key prefix; the app's lifespan is not run, so nothing stores the stream until a test
    flushes it (``runtime.flush``) or runs the settlement job."""

    app: FastAPI
    api: TestClient
    operator: dict[str, str]
    event_id: int
    runtime: Any
    gate: ReservationGate
    base: str

    def reserve(self, customer: str, **body: Any) -> Any:
        """A reservation of the event by E1 (``builders.reserve``)."""
        return reserve(self.api, self.operator, self.event_id, customer, **body)


@pytest.fixture
def gated(redis_app: FastAPI, operator: dict[str, str]) -> Gated:
    api = TestClient(redis_app)
    event_id = one_employee_event(api, operator)
    runtime, gate, base = gate_of(redis_app, event_id)
    return Gated(redis_app, api, operator, event_id, runtime, gate, base)
