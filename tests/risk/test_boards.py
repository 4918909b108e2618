"""Boards leave fraud out as tier evaluation does: orders a confirmed risk case names count for
nothing, and a member a confirmed case suspended is off every board (the program's leaderboards by
orders, GMV and recruits, and the group leaderboard)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.orders.models import Order
from tests.conftest import TokenMaker
from tests.factories import create_member
from tests.orders import builders as orders
from tests.orders.builders import PAID_AT, SKU, order_body, post_order
from tests.reporting import sales_world
from tests.reporting.sales_world import FROM, TO, place_activity
from tests.risk.builders import brush, cases, plant_confirmed, resolve
from tests.sign_in import console_sign_in

MARCH = "2026-03-05T10:00:00+08:00"


def _rows(client: TestClient, headers: dict[str, str], program_id: int, metric: str) -> list[tuple[Any, ...]]:
    response = client.get(
        f"/api/v1/programs/{program_id}/leaderboard?period=2026-03&metric={metric}", headers=headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["ranked"] == len(body["rows"])
    return [(r["rank"], r["member_id"], r["value"]) for r in body["rows"]]


def _world(client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]) -> orders.World:
    """The seller brushes 10 orders of ¥5 and sells one of ¥30; the owner sells one of ¥20; in March
    the seller recruits two members and the owner one."""
    world = orders.build(client, operator, factory)
    brush(client, operator, world, 10)
    later = PAID_AT + timedelta(days=3)
    post_order(client, operator, order_body(world, "S-1", (SKU, 1, 3000), at=later, customer="c-s"))
    owner = order_body(world, "O-1", (SKU, 1, 2000), link=world.owner_link, at=later, customer="c-o")
    post_order(client, operator, owner)
    for inviter, name in ((world.seller, "r1"), (world.seller, "r2"), (world.owner, "r3")):
        create_member(client, operator, world.program_id, name, inviter_id=inviter, joined_at=MARCH)
    return world


def test_a_confirmed_and_suspended_seller_is_off_every_program_board(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    world = _world(client, operator, factory)
    pid = world.program_id
    assert _rows(client, operator, pid, "gmv_fen")[0] == (1, world.seller, 8000)
    [case] = cases(client, operator, pid, "open")
    confirmed = resolve(client, operator, case["id"], "confirm", note="brushing", suspend=True)
    assert confirmed.status_code == 200, confirmed.text
    assert (confirmed.json()["reversed_fen"], confirmed.json()["suspended"]) == (350, True)
    assert _rows(client, operator, pid, "gmv_fen") == [(1, world.owner, 2000)]
    assert _rows(client, operator, pid, "orders") == [(1, world.owner, 1)]
    assert _rows(client, operator, pid, "recruits") == [(1, world.owner, 1)]


def test_a_confirmed_cases_orders_count_for_nothing_without_a_suspension(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    world = _world(client, operator, factory)
    pid = world.program_id
    assert _rows(client, operator, pid, "orders")[0] == (1, world.seller, 11)
    [case] = cases(client, operator, pid, "open")
    confirmed = resolve(client, operator, case["id"], "confirm", note="brushing")
    assert confirmed.status_code == 200, confirmed.text
    # The seller keeps the order the case does not name, and the recruits.
    assert _rows(client, operator, pid, "gmv_fen") == [(1, world.seller, 3000), (2, world.owner, 2000)]
    assert _rows(client, operator, pid, "orders") == [(1, world.owner, 1), (2, world.seller, 1)]
    assert _rows(client, operator, pid, "recruits") == [(1, world.seller, 2), (2, world.owner, 1)]


def _groups(
    client: TestClient, operator: dict[str, str], program_id: int, by: str
) -> tuple[list[tuple[int, int, Any]], str]:
    response = client.get(
        f"/api/v1/programs/{program_id}/group-leaderboard?from={FROM}&to={TO}&by={by}", headers=operator
    )
    assert response.status_code == 200, response.text
    ranked = [(g["rank"], g["group_id"], g["value"]) for g in response.json()["groups"]]
    return ranked, response.headers["X-Total-Count"]


def _sales_of(client: TestClient, operator: dict[str, str], program_id: int, group_id: int) -> Any:
    response = client.get(f"/api/v1/programs/{program_id}/group-sales?from={FROM}&to={TO}", headers=operator)
    assert response.status_code == 200, response.text
    [row] = [g for g in response.json()["groups"] if g["group_id"] == group_id]
    return (row["orders"], row["gmv_fen"])


def test_the_group_leaderboard_leaves_out_confirmed_orders_and_suspended_owners(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    world = sales_world.build(client, operator, make_token, factory)
    place_activity(client, operator, factory, world)
    assert _groups(client, operator, world.program_id, "gmv")[0][0] == (1, world.b1, 35_000)
    with factory() as session:
        b1_orders = list(session.scalars(select(Order.external_id).where(Order.group_id == world.b1)))
    # B1's orders confirmed as fraud: on the board B1 sold nothing (ties go to the older group).
    plant_confirmed(factory, world.program_id, world.owner_b, b1_orders)
    assert _groups(client, operator, world.program_id, "gmv") == (
        [(1, world.a1, 25_000), (2, world.a2, 0), (3, world.b1, 0)],
        "3",
    )
    assert _groups(client, operator, world.program_id, "orders")[0] == [
        (1, world.a1, 2),
        (2, world.a2, 0),
        (3, world.b1, 0),
    ]
    # B1's owner suspended: their groups are off the board, whatever it ranks by.
    plant_confirmed(factory, world.program_id, world.owner_b, suspend=True)
    for by in ("gmv", "orders", "growth"):
        ranked, total = _groups(client, operator, world.program_id, by)
        assert [g for _, g, _ in ranked] == [world.a1, world.a2], by
        assert total == "2"
    # The group sales report still reads what the group sold.
    assert _sales_of(client, operator, world.program_id, world.b1) == (2, 35_000)
    console_sign_in(client, factory)
    page = client.get(f"/console/programs/{world.program_id}/groups/leaderboard?from={FROM}&to={TO}")
    assert page.status_code == 200, page.text
    assert "宝妈好物1群" in page.text
    assert "芬香内购1群" not in page.text
