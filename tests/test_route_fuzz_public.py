"""The public pages: the share-link redirect, the share, join and live-code pages (``tests/test_route_fuzz.py``
says what is sent and checked), called signed out."""

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


def test_public_pages_never_answer_a_server_error(
    app: FastAPI, client: TestClient, factory: sessionmaker[Session], world: World
) -> None:
    failures = sweep(client, factory, world, of(app, None))
    assert not failures, f"{len(failures)} calls went wrong:\n" + "\n".join(failures)
