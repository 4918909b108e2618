"""The API's writes and the webhook (``tests/test_route_fuzz.py`` says what is sent and checked), each
called by a role the authorization matrix allows; a write refused with a 4xx changes no table's row
count."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.authz.matrix import World
from tests.authz.world import world
from tests.route_fuzz import of, sweep, unlogged

pytestmark = [pytest.mark.world_per_module, pytest.mark.usefixtures("unlogged")]

__all__ = ["unlogged", "world"]


def test_api_writes_never_answer_a_server_error(
    app: FastAPI, client: TestClient, factory: sessionmaker[Session], world: World
) -> None:
    writes = [r for r in of(app, None, api=True) if r.method != "GET"]
    assert any(r.path.startswith("/webhooks/") for r in writes)
    failures = sweep(client, factory, world, writes)
    assert not failures, f"{len(failures)} calls went wrong:\n" + "\n".join(failures)
