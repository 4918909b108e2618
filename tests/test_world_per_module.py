"""The ``world_per_module`` fixtures: every test starts from the module's world, whatever the test before
it wrote, refused or signed in."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.programs.models import Program
from tests.factories import create_program
from tests.sign_in import console_sign_in

pytestmark = pytest.mark.world_per_module


@pytest.fixture(scope="module")
def world(module_client: TestClient, module_operator: dict[str, str]) -> dict[str, Any]:
    return create_program(module_client, module_operator, code="kept")


def _programs(factory: sessionmaker[Session]) -> list[str]:
    with factory() as session:
        return list(session.scalars(select(Program.code).order_by(Program.code)))


@pytest.mark.parametrize("run", [1, 2, 3])
def test_each_test_starts_from_the_world(
    run: int,
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    world: dict[str, Any],
) -> None:
    assert _programs(factory) == ["kept"]
    assert "neigou_session" not in client.cookies
    refused = client.post("/api/v1/programs", json={"code": "kept", "name": "again"}, headers=operator)
    assert refused.status_code == 409  # a failed write inside the test's savepoint
    create_program(client, operator, code=f"run-{run}")
    console_sign_in(client, factory)
    assert client.get("/console", follow_redirects=False).status_code == 200
    assert _programs(factory) == ["kept", f"run-{run}"]
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(Program)) == 2
