"""The member workspace's pages (``tests/test_route_fuzz.py`` says what is sent and checked), signed in
as the world's member."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth.models import Role
from tests.authz.matrix import World
from tests.authz.world import world
from tests.route_fuzz import of, sweep, unlogged
from tests.sign_in import member_sign_in

pytestmark = [pytest.mark.world_per_module, pytest.mark.usefixtures("unlogged")]

__all__ = ["unlogged", "world"]


def test_workspace_pages_never_answer_a_server_error(
    app: FastAPI, client: TestClient, factory: sessionmaker[Session], world: World
) -> None:
    member_sign_in(client, world.tokens["member"])
    failures = sweep(client, factory, world, of(app, Role.MEMBER))
    assert not failures, f"{len(failures)} calls went wrong:\n" + "\n".join(failures)
