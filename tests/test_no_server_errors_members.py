"""Bad input never gets a 500: the members', groups' and customers' operations, fed malformed input
(the sweep of ``tests/test_no_server_errors.py``, split by family for the workers to share:
``tests/api_sweep.py``)."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.api_sweep import sweep, unlogged, world
from tests.server_errors import World

pytestmark = pytest.mark.world_per_module

__all__ = ["unlogged", "world"]


def test_malformed_input_never_gets_a_server_error(app: FastAPI, client: TestClient, world: World) -> None:
    sweep(app, client, world, "members")
