"""Leaderboards by orders, GMV and recruits in one Shanghai month; members see masked names and their rank."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth.models import Role
from tests.conftest import TokenMaker, bearer
from tests.network.builders import NetWorld, build_network

pytestmark = pytest.mark.world_per_module


@pytest.fixture(scope="module")
def net(
    module_client: TestClient, module_operator: dict[str, str], module_factory: sessionmaker[Session]
) -> NetWorld:
    return build_network(module_client, module_operator, module_factory)


def _board(client: TestClient, headers: dict[str, str], program_id: int, query: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/programs/{program_id}/leaderboard?{query}", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _rows(board: dict[str, Any]) -> list[tuple[int, Any, str, int]]:
    return [(r["rank"], r["member_id"], r["name"], r["value"]) for r in board["rows"]]


def test_operator_sees_exact_boards(client: TestClient, operator: dict[str, str], net: NetWorld) -> None:
    w, pid = net.base, net.program_id
    gmv = _board(client, operator, pid, "period=2026-03&metric=gmv_fen")
    assert _rows(gmv) == [(1, w.seller, "seller", 32_000), (2, w.owner, "owner", 5_000)]
    assert (gmv["ranked"], gmv["me"], gmv["period"]) == (2, None, "2026-03")
    orders = _board(client, operator, pid, "period=2026-03&metric=orders")
    assert _rows(orders) == [(1, w.seller, "seller", 3), (2, w.owner, "owner", 1)]
    # One recruit each in March: the tie goes to the earlier member (lower id).
    recruits = _board(client, operator, pid, "period=2026-03&metric=recruits")
    assert _rows(recruits) == [
        (1, w.mentor, "mentor", 1),
        (2, w.owner, "owner", 1),
        (3, w.seller, "seller", 1),
    ]


def test_month_boundary_in_shanghai(client: TestClient, operator: dict[str, str], net: NetWorld) -> None:
    w, pid = net.base, net.program_id
    assert _rows(_board(client, operator, pid, "period=2026-04&metric=gmv_fen")) == [
        (1, w.seller, "seller", 40_000)
    ]
    assert _rows(_board(client, operator, pid, "period=2026-04&metric=orders")) == [
        (1, w.seller, "seller", 1)
    ]
    assert _rows(_board(client, operator, pid, "period=2026-04&metric=recruits")) == [
        (1, w.owner, "owner", 1)
    ]
    assert _board(client, operator, pid, "period=2026-02&metric=gmv_fen")["rows"] == []


def test_limit_keeps_the_ranking(client: TestClient, operator: dict[str, str], net: NetWorld) -> None:
    board = _board(client, operator, net.program_id, "period=2026-03&metric=recruits&limit=2")
    assert [r["rank"] for r in board["rows"]] == [1, 2]
    assert board["ranked"] == 3
    too_many = client.get(f"/api/v1/programs/{net.program_id}/leaderboard?limit=1000", headers=operator)
    assert too_many.status_code == 422


def test_member_sees_masked_names_and_own_rank(
    client: TestClient, net: NetWorld, make_token: TokenMaker
) -> None:
    w = net.base
    owner = bearer(make_token(Role.MEMBER, w.owner))
    board = _board(client, owner, net.program_id, "period=2026-03&metric=gmv_fen")
    assert _rows(board) == [(1, None, "s****r", 32_000), (2, w.owner, "owner", 5_000)]
    assert [r["me"] for r in board["rows"]] == [False, True]
    assert board["me"] == {"member_id": w.owner, "rank": 2, "value": 5_000}
    assert "commission" not in str(board)
    mentor = bearer(make_token(Role.MEMBER, w.mentor))
    unranked = _board(client, mentor, net.program_id, "period=2026-03&metric=orders")
    assert unranked["me"] == {"member_id": w.mentor, "rank": None, "value": 0}
    assert [r["name"] for r in unranked["rows"]] == ["s****r", "o***r"]


def test_bad_metric_and_period_are_problems(
    client: TestClient, operator: dict[str, str], net: NetWorld
) -> None:
    for query, code in (
        ("metric=commission", "invalid_metric"),
        ("period=2026-00", "invalid_period"),
        ("metric=13912345678", "invalid_metric"),  # what was typed is never repeated in the answer
        ("period=13912345678", "invalid_period"),
    ):
        response = client.get(f"/api/v1/programs/{net.program_id}/leaderboard?{query}", headers=operator)
        assert (response.status_code, response.json()["code"]) == (422, code)
        assert query.partition("=")[2] not in response.text
    missing = client.get("/api/v1/programs/999999/leaderboard", headers=operator)
    assert (missing.status_code, missing.json()["code"]) == (404, "program_not_found")
