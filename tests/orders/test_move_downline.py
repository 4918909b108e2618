"""A move of member M changes the level-3 upline of M's recruits' orders too (``max_levels`` 3): it may
not reach back past a recruit's order already priced with M's old inviter, though M sold nothing, M
earned nothing on it (no ``commissions`` row), or the recruit has left M since. A move dated after the
recruits' latest order under M goes through; with ``max_levels`` 2 M's inviter earns nothing on a
recruit's order, and such an order does not hold the move back."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.orders.models import Commission
from tests.factories import PARTNER_TIERS, create_member
from tests.orders.builders import PAID_AT, World, build, order_body, post_order

SOLD = PAID_AT + timedelta(days=2)  # the recruit's sale ("Dec 3")
BACK = PAID_AT  # the move's date reaching back before it ("Dec 1")
CODE = "inviter_change_before_priced_orders"


def _move(
    client: TestClient, operator: dict[str, str], member: int, inviter: int, at: Any, *, status: int = 200
) -> dict[str, Any]:
    body = {"inviter_id": inviter, "effective_from": at.isoformat()}
    response = client.put(f"/api/v1/members/{member}/inviter", json=body, headers=operator)
    assert response.status_code == status, response.text
    out: dict[str, Any] = response.json()
    return out


def _other(client: TestClient, operator: dict[str, str], world: World) -> int:
    joined = (PAID_AT - timedelta(days=9)).isoformat()
    return int(
        create_member(client, operator, world.program_id, "other", tier="mentor", joined_at=joined)["id"]
    )


def _levels(order: dict[str, Any]) -> list[tuple[int, int]]:
    return [(c["level"], c["member_id"]) for c in order["commissions"]]


def test_a_move_cannot_reach_back_past_a_recruits_order_priced_with_the_old_upline(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    """mentor (A) → owner (M) → seller (D); M sells nothing, D's order stores A at level 3. Moving M
    under "other" (B) from before D's order is refused, and a twin of D's order reported afterwards still
    pays A; a move dated after D's order goes through and pays B on D's later orders."""
    world = build(client, operator, factory)
    other = _other(client, operator, world)
    first = post_order(client, operator, order_body(world, "D-1", at=SOLD))
    assert _levels(first) == [(1, world.seller), (2, world.owner), (3, world.mentor)]
    refused = _move(client, operator, world.owner, other, BACK, status=409)
    assert refused["code"] == CODE
    assert SOLD.isoformat() not in refused["detail"]
    _move(client, operator, world.owner, other, SOLD, status=409)  # at the order's very instant too
    twin = post_order(client, operator, order_body(world, "D-2", at=SOLD, customer="shopper-2"))
    assert _levels(twin) == _levels(first)
    after = SOLD + timedelta(seconds=1)
    assert _move(client, operator, world.owner, other, after)["inviter_id"] == other
    later = post_order(client, operator, order_body(world, "D-3", at=after, customer="shopper-3"))
    assert _levels(later) == [(1, world.seller), (2, world.owner), (3, other)]


def test_the_recruits_order_holds_the_move_back_though_the_member_earned_nothing_on_it(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    """M's tier (super_member, as D's) overrides 0: D's order stores no commission row for M, only A's
    at level 3; the move is refused all the same (the invite history says whose chain it went through)."""
    world = build(client, operator, factory)
    ladder = [{**t, "override_bp": 0} if t["code"] == "super_member" else t for t in PARTNER_TIERS]
    tiers = client.put(f"/api/v1/programs/{world.program_id}/tiers", json=ladder, headers=operator)
    assert tiers.status_code == 200, tiers.text
    other = _other(client, operator, world)
    order = post_order(client, operator, order_body(world, "D-1", at=SOLD))
    assert _levels(order) == [(1, world.seller), (3, world.mentor)]
    with factory() as session:
        assert session.scalars(select(Commission.id).where(Commission.member_id == world.owner)).all() == []
    assert _move(client, operator, world.owner, other, BACK, status=409)["code"] == CODE


def test_a_recruit_who_left_the_member_since_still_holds_the_move_back(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    """D's order was priced under M, then D moved to the mentor: M's move from before the order is
    refused; one dated after D left M (only D's later orders, not under M, come after it) goes through."""
    world = build(client, operator, factory)
    other = _other(client, operator, world)
    post_order(client, operator, order_body(world, "D-1", at=SOLD))
    left = SOLD + timedelta(hours=1)
    _move(client, operator, world.seller, world.mentor, left)
    post_order(client, operator, order_body(world, "D-2", at=left + timedelta(hours=1), customer="shopper-2"))
    assert (
        _move(client, operator, world.owner, other, SOLD - timedelta(seconds=1), status=409)["code"] == CODE
    )
    assert _move(client, operator, world.owner, other, left)["inviter_id"] == other


def test_with_two_levels_a_recruits_order_does_not_hold_the_move_back(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    """With ``max_levels`` 2 nobody above M earns on D's order: the move reaching back goes through."""
    world = build(client, operator, factory, max_levels=2)
    other = _other(client, operator, world)
    post_order(client, operator, order_body(world, "D-1", at=SOLD))
    assert _move(client, operator, world.owner, other, BACK)["inviter_id"] == other
