"""An event's Redis leaderboard while it is first built: readers wait for the build or answer from the
database (a few at a time, then 503 ``leaderboard_busy``), never an empty board that is merely not
built yet."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Select
from sqlalchemy.orm import Session, sessionmaker

from neigou.events import leaderboard
from tests.events.test_board import _event, _sell
from tests.orders.builders import World, build


def _sold_event(
    api: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> tuple[World, int]:
    """An event where the seller brought 5000 fen and the owner 6000, its board never looked at."""
    world = build(api, operator, factory)
    event_id = _event(api, operator, world)
    _sell(api, operator, world, event_id, [(3000, world.link), (6000, world.owner_link), (2000, world.link)])
    return world, event_id


def _in_thread(call: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    answers: list[Any] = []
    thread = threading.Thread(target=lambda: answers.append(call()))
    thread.start()
    return thread, answers


def _waits(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The threads of the readers that waited for another's build, once per look: the board's clock
    with its sleep noted, so a test sees a wait happen rather than timing it."""
    waited: list[int] = []

    def sleep(seconds: float) -> None:
        waited.append(threading.get_ident())
        time.sleep(seconds)

    monkeypatch.setattr(leaderboard, "time", SimpleNamespace(monotonic=time.monotonic, sleep=sleep))
    return waited


def test_readers_during_the_first_build_see_the_built_board(
    redis_client_app: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The first reader's grouped query is held; a page and a standing asked meanwhile answer the
    ranking once it is built, not an empty page and a 404."""
    api = redis_client_app
    world, event_id = _sold_event(api, operator, factory)
    started, go_on = threading.Event(), threading.Event()
    real = leaderboard.ranking
    calls: list[int] = []

    def held_ranking(of: int) -> Select[int | None, int]:
        calls.append(of)
        if len(calls) == 1:
            started.set()
            assert go_on.wait(60)  # let go once both readers wait
        return real(of)

    monkeypatch.setattr(leaderboard, "ranking", held_ranking)
    # The readers wait for the build however slowly the machine runs it (a wait that ran out would
    # read the database: a second grouped query).
    monkeypatch.setattr(leaderboard, "WAIT_SECONDS", 600)
    waited = _waits(monkeypatch)
    url = f"/api/v1/events/{event_id}/leaderboard"
    first, first_answer = _in_thread(lambda: api.get(url, headers=operator))
    assert started.wait(10)
    page, page_answer = _in_thread(lambda: api.get(url, headers=operator))
    mine, mine_answer = _in_thread(lambda: api.get(f"{url}/{world.owner}", headers=operator))
    for _ in range(1000):  # both wait for the build before it is let go
        if len(set(waited)) == 2 or not (page.is_alive() and mine.is_alive()):
            break
        threading.Event().wait(0.01)
    assert (len(set(waited)), page.is_alive(), mine.is_alive()) == (2, True, True), "a reader did not wait"
    go_on.set()
    for thread in (first, page, mine):
        thread.join(10)
        assert not thread.is_alive()
    for answer in (first_answer[0], page_answer[0]):
        assert answer.status_code == 200, answer.text
        assert answer.headers["X-Total-Count"] == "2"
        assert [(r["member_id"], r["gmv_fen"], r["rank"]) for r in answer.json()] == [
            (world.owner, 6000, 1),
            (world.seller, 5000, 2),
        ]
    assert mine_answer[0].status_code == 200, mine_answer[0].text
    assert mine_answer[0].json() == {"member_id": world.owner, "gmv_fen": 6000, "rank": 1}
    assert calls == [event_id]  # one grouped query for the three


def _board(api: TestClient) -> Any:
    app: Any = api.app
    return app.state.events.leaderboard


def test_a_board_still_absent_after_the_wait_is_read_from_the_database_or_refused_for_a_moment(
    redis_client_app: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Another process holds the refresh (and never writes): past the wait a reader answers from the
    database; with the process's database readers all busy, 503 ``leaderboard_busy`` with Retry-After."""
    api = redis_client_app
    world, event_id = _sold_event(api, operator, factory)
    board = _board(api)
    key = board._key(event_id)
    board.client.set(f"{key}:refreshing", "elsewhere", ex=60)
    monkeypatch.setattr(leaderboard, "WAIT_SECONDS", 0.2)
    url = f"/api/v1/events/{event_id}/leaderboard"
    ranks = api.get(url, headers=operator)
    assert ranks.status_code == 200, ranks.text
    assert ranks.headers["X-Total-Count"] == "2"
    assert [r["member_id"] for r in ranks.json()] == [world.owner, world.seller]
    mine = api.get(f"{url}/{world.seller}", headers=operator)
    assert mine.json() == {"member_id": world.seller, "gmv_fen": 5000, "rank": 2}
    monkeypatch.setattr(board, "_database_readers", threading.BoundedSemaphore(1))
    assert board._database_readers.acquire(blocking=False)  # the process's one slot is in use
    for path in (url, f"{url}/{world.seller}"):
        busy = api.get(path, headers=operator)
        assert (busy.status_code, busy.json()["code"]) == (503, "leaderboard_busy"), busy.text
        assert busy.headers["Retry-After"] == "1"
    assert not board.client.exists(key)  # the other's refresh is left to it


def test_an_empty_board_built_before_answers_while_it_is_refreshed(
    redis_client_app: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An event nobody sold at yet: its built board is empty, and it answers at once (no wait, no
    database) while another process refreshes it."""
    api = redis_client_app
    world = build(api, operator, factory)
    event_id = _event(api, operator, world)
    url = f"/api/v1/events/{event_id}/leaderboard"
    empty = api.get(url, headers=operator)
    assert (empty.status_code, empty.json(), empty.headers["X-Total-Count"]) == (200, [], "0")
    board = _board(api)
    key = board._key(event_id)
    board.client.delete(f"{key}:fresh")
    board.client.set(f"{key}:refreshing", "elsewhere", ex=60)
    monkeypatch.setattr(board, "_database_readers", threading.BoundedSemaphore(1))
    assert board._database_readers.acquire(blocking=False)
    waited = _waits(monkeypatch)
    again = api.get(url, headers=operator)
    assert (again.status_code, again.json(), again.headers["X-Total-Count"]) == (200, [], "0")
    nobody = api.get(f"{url}/{world.seller}", headers=operator)
    assert (nobody.status_code, nobody.json()["code"]) == (404, "no_standing")
    assert waited == []  # neither waited for the refresh


def test_the_previous_releases_sets_and_this_ones_keep_to_their_own_keys(
    redis_client_app: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    """A rolling deploy: the previous release built ``event-leaderboard:{id}`` with every member a
    salesperson (no ``built`` member) and reads every member as one. This release reads and writes only
    its own version's keys, so neither reads the other's set: no total one too low here, no ``built``
    member read as a member id (a 500) there."""
    api = redis_client_app
    world, event_id = _sold_event(api, operator, factory)
    board = _board(api)
    previous = f"{board.namespace}:event-leaderboard:{event_id}"
    board.client.zadd(previous, {str(world.owner): 6000, str(world.seller): 5000})  # as it built them
    board.client.set(f"{previous}:fresh", "1", ex=60)
    url = f"/api/v1/events/{event_id}/leaderboard"
    ranks = api.get(url, headers=operator)
    assert ranks.status_code == 200, ranks.text
    assert ranks.headers["X-Total-Count"] == "2"
    assert [(r["member_id"], r["gmv_fen"], r["rank"]) for r in ranks.json()] == [
        (world.owner, 6000, 1),
        (world.seller, 5000, 2),
    ]
    assert board._key(event_id) != previous
    assert board.client.exists(board._key(event_id), f"{board._key(event_id)}:fresh") == 2
    members: list[bytes] = board.client.zrange(previous, 0, -1)
    assert sorted(members) == sorted([str(world.owner).encode(), str(world.seller).encode()])  # untouched
    board.client.delete(previous, f"{previous}:fresh")
    mine = api.get(f"{url}/{world.owner}", headers=operator)
    assert mine.json() == {"member_id": world.owner, "gmv_fen": 6000, "rank": 1}
    assert not board.client.exists(previous, f"{previous}:fresh", f"{previous}:refreshing")
