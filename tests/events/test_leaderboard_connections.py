"""A reader that waits for another process's build of an event's leaderboard holds no connection while it
waits (CONVENTIONS, "No session held across a wait"): under an event's first look many readers wait at
once, and each holding its request's connection for ``WAIT_SECONDS`` would empty the pool."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

from neigou.events import leaderboard
from tests.events.test_board import _event, _sell
from tests.orders.builders import build


def test_a_reader_waiting_for_anothers_build_gives_its_connection_back(
    redis_app: FastAPI,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Another process holds the refresh and never writes: the page and the standing wait with no
    connection checked out (the event was read before the wait), then answer from the database."""
    api = TestClient(redis_app)  # no lifespan: no background work checks a connection out meanwhile
    world = build(api, operator, factory)
    event_id = _event(api, operator, world)
    _sell(api, operator, world, event_id, [(3000, world.link), (6000, world.owner_link)])
    board = redis_app.state.events.leaderboard
    board.client.set(f"{board._key(event_id)}:refreshing", "elsewhere", ex=60)
    pool = engine.pool
    assert isinstance(pool, QueuePool)
    waiting: list[int] = []

    def sleep(seconds: float) -> None:
        waiting.append(pool.checkedout())
        time.sleep(seconds)

    monkeypatch.setattr(leaderboard, "time", SimpleNamespace(monotonic=time.monotonic, sleep=sleep))
    monkeypatch.setattr(leaderboard, "WAIT_SECONDS", 0.2)
    url = f"/api/v1/events/{event_id}/leaderboard"
    assert pool.checkedout() == 0
    ranks = api.get(url, headers=operator)
    assert ranks.status_code == 200, ranks.text
    assert [(r["member_id"], r["gmv_fen"]) for r in ranks.json()] == [
        (world.owner, 6000),
        (world.seller, 3000),
    ]
    assert ranks.headers["X-Total-Count"] == "2"
    mine = api.get(f"{url}/{world.seller}", headers=operator)
    assert mine.json() == {"member_id": world.seller, "gmv_fen": 3000, "rank": 2}
    assert waiting, "the readers did not wait"
    assert set(waiting) == {0}, waiting
    assert pool.checkedout() == 0
