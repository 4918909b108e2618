"""Fixtures of the feed tests: a WeCom group robot on 127.0.0.1."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from neigou.kit.sealed import Sealer
from neigou.kit.settings import Settings
from tests.groups.test_alerts import Robot


@pytest.fixture
def robot() -> Iterator[Robot]:
    """A running robot stub; its URL carries the key ``robot-key``."""
    stub = Robot()
    thread = threading.Thread(target=stub.server.serve_forever, daemon=True)
    thread.start()
    yield stub
    stub.server.shutdown()
    thread.join(timeout=5)


def app_settings(client: TestClient) -> Settings:
    """The settings of the application under test (its keys seal and open robot URLs)."""
    running: Settings = client.app.state.settings  # type: ignore[attr-defined]
    return running


def app_sealer(client: TestClient) -> Sealer:
    """The sealer of the application under test."""
    return Sealer.from_settings(app_settings(client))
