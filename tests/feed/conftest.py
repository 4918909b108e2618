"""Fixtures of the feed tests: a WeCom group robot on 127.0.0.1."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

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
