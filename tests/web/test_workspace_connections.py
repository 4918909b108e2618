"""A workspace page holds at most one connection at a time (CONVENTIONS, "No session held across a
wait"; ``Settings.pool_size`` counts one per admitted request): the navigation's customer book is read
in the token lookup's short session, never in a second session beside the request's."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

from neigou.auth.models import Role
from tests.conftest import TokenMaker
from tests.orders.builders import build
from tests.sign_in import member_sign_in

PAGES = (
    "/m/",
    "/m/me",
    "/m/links",
    "/m/earnings",
    "/m/feed",
    "/m/posts",
    "/m/groups",
    "/m/live-codes",
    "/m/team",
    "/m/recruit",
    "/m/leaderboard",
    "/m/pushes",
    "/m/events",
    "/m/tier",
    "/m/customers",
)


@pytest.fixture
def held(engine: Engine) -> Iterator[list[int]]:
    """The connections checked out at each checkout of the pool while the test runs."""
    seen: list[int] = []
    pool = engine.pool
    assert isinstance(pool, QueuePool)

    def counted(*_args: Any) -> None:
        seen.append(pool.checkedout())

    event.listen(pool, "checkout", counted)
    yield seen
    event.remove(pool, "checkout", counted)


def test_every_workspace_page_holds_one_connection_at_a_time(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    make_token: TokenMaker,
    held: list[int],
) -> None:
    w = build(client, operator, factory)
    member_sign_in(client, make_token(Role.MEMBER, w.seller))
    for path in PAGES:
        held.clear()
        page = client.get(path)
        assert page.status_code == 200, (path, page.status_code)
        assert held, path
        assert max(held) == 1, (path, held)
