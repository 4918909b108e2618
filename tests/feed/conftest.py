"""Fixtures of the feed tests: a WeCom group robot on 127.0.0.1."""

from __future__ import annotations

from fastapi.testclient import TestClient

from neigou.kit.sealed import Sealer
from neigou.kit.settings import Settings
from tests.robots import robot

__all__ = ["robot"]  # the robot stub the feed tests post to


def app_settings(client: TestClient) -> Settings:
    """The settings of the application under test (its keys seal and open robot URLs)."""
    running: Settings = client.app.state.settings  # type: ignore[attr-defined]
    return running


def app_sealer(client: TestClient) -> Sealer:
    """The sealer of the application under test."""
    return Sealer.from_settings(app_settings(client))
