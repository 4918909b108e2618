"""An event's leaderboard and live board rank as every board does: orders a confirmed risk case names
count for nothing and a suspended salesperson is off; the event's totals stay its sales."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.events.test_board import _event, _sell
from tests.orders.builders import SKU, build
from tests.risk.builders import plant_confirmed


@pytest.fixture(params=["database", "redis"])
def api(request: pytest.FixtureRequest, client: TestClient) -> TestClient:
    if request.param == "redis":
        redis_client: TestClient = request.getfixturevalue("redis_client_app")
        return redis_client
    return client


def test_confirmed_orders_and_suspended_sellers_are_off_the_event_boards(
    api: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    world = build(api, operator, factory)
    event_id = _event(api, operator, world)
    _sell(api, operator, world, event_id, [(3000, world.link), (6000, world.owner_link), (2000, world.link)])
    plant_confirmed(factory, world.program_id, world.seller, ["EV-1"])
    plant_confirmed(factory, world.program_id, world.owner, suspend=True)
    app: Any = api.app
    app.state.events.flush()
    board = api.get(f"/api/v1/events/{event_id}/board", headers=operator).json()
    assert board["top_members"] == [{"member_id": world.seller, "gmv_fen": 2000}]
    assert board["top_skus"] == [{"sku": SKU, "quantity": 1, "gmv_fen": 2000}]
    assert (board["orders"], board["gmv_fen"]) == (3, 11_000)
    ranks = api.get(f"/api/v1/events/{event_id}/leaderboard", headers=operator)
    assert ranks.headers["X-Total-Count"] == "1"
    assert [(r["member_id"], r["gmv_fen"], r["rank"]) for r in ranks.json()] == [(world.seller, 2000, 1)]
    mine = api.get(f"/api/v1/events/{event_id}/leaderboard/{world.seller}", headers=operator).json()
    assert mine == {"member_id": world.seller, "gmv_fen": 2000, "rank": 1}
    owner = api.get(f"/api/v1/events/{event_id}/leaderboard/{world.owner}", headers=operator)
    assert (owner.status_code, owner.json()["code"]) == (404, "no_standing")
