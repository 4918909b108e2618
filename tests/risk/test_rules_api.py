"""Each rule through the API: planted patterns open cases with their evidence; near misses do not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.clock import utcnow
from neigou.kit.db import transaction
from neigou.programs.models import MemberTierPeriod
from neigou.tiers.metrics import period_figures
from tests.conftest import SECRET
from tests.factories import create_member
from tests.groups.builders import create_group, post_count
from tests.offers import factories as offers
from tests.orders import builders as orders
from tests.orders.builders import PAID_AT, SKU, order_body, post_order, settle
from tests.risk.builders import brush, cases, claim_from_device, complete, resolve


def _scan(client: TestClient, headers: dict[str, str], program_id: int, as_of: datetime | None = None) -> Any:
    body = {"as_of": as_of.isoformat()} if as_of else {}
    response = client.post(f"/api/v1/programs/{program_id}/risk/scan", json=body, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def _coupon(client: TestClient, operator: dict[str, str]) -> int:
    now = utcnow()
    created = offers.coupon(
        client,
        operator,
        100,
        total_quantity=1000,
        starts_at=(now - timedelta(days=1)).isoformat(),
        ends_at=(now + timedelta(days=1)).isoformat(),
    )
    return int(created["id"])


def test_one_visitor_claiming_under_five_references_opens_coupon_hoarding(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    world = orders.build(client, operator, factory)
    coupon_id = _coupon(client, operator)
    refs = [f"1380000{i:04d}" for i in range(10, 15)]
    claim_from_device(
        factory, SECRET, coupon_id=coupon_id, link_code=world.link, visitor_id="v-four", refs=refs[:4]
    )
    assert cases(client, operator, world.program_id) == []
    five = [f"1390000{i:04d}" for i in range(10, 15)]
    claim_from_device(
        factory, SECRET, coupon_id=coupon_id, link_code=world.link, visitor_id="v-five", refs=five
    )
    [case] = cases(client, operator, world.program_id, "open")
    assert case["rule"] == "coupon_hoarding"
    assert case["member_id"] == world.seller
    assert case["evidence"]["customer_refs"] == 5
    assert case["evidence"]["claims"] == 5
    assert case["evidence"]["coupon_id"] == coupon_id
    assert case["severity"] == "medium"
    assert _scan(client, operator, world.program_id)["opened"] == 0  # the same subject is not opened twice


def test_buyer_with_the_uplines_phone_or_the_sellers_device_opens_shared_identity(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    world = orders.build(client, operator, factory)
    junior = create_member(client, operator, world.program_id, "junior", inviter_id=world.seller)
    junior_link = orders.make_link(factory, junior["id"])
    # The seller's phone (13800000001) buys through the recruit's link.
    post_order(client, operator, order_body(world, "UP-1", link=junior_link, customer="13800000001"))
    [upline] = cases(client, operator, world.program_id, "open")
    assert (upline["rule"], upline["member_id"], upline["severity"]) == (
        "shared_identity",
        junior["id"],
        "medium",
    )
    assert upline["evidence"]["shared"] == ["phone_upline"]
    # A shopper on the seller's own device buys through the seller's link.
    coupon_id = _coupon(client, operator)
    claim_from_device(
        factory,
        SECRET,
        coupon_id=coupon_id,
        link_code=world.link,
        visitor_id="dev-1",
        refs=["13800000001", "c-dev"],
    )
    post_order(client, operator, order_body(world, "DEV-1", customer="c-dev"))
    post_order(client, operator, order_body(world, "FAR-1", customer="c-far"))
    seller_case = next(
        c for c in cases(client, operator, world.program_id, "open") if c["member_id"] == world.seller
    )
    assert seller_case["severity"] == "high"
    assert seller_case["evidence"]["shared"] == ["device_seller"]
    assert len(seller_case["order_ids"]) == 1


def test_recruits_sharing_a_device_or_joining_in_an_idle_burst_open_invite_ring(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    world = orders.build(client, operator, factory)
    now = utcnow()
    first = create_member(
        client, operator, world.program_id, "r1", inviter_id=world.owner, customer_ref="13911110001"
    )
    create_member(
        client, operator, world.program_id, "r2", inviter_id=world.owner, customer_ref="13911110002"
    )
    coupon_id = _coupon(client, operator)
    claim_from_device(
        factory,
        SECRET,
        coupon_id=coupon_id,
        link_code=world.link,
        visitor_id="ring",
        refs=["13911110001", "13911110002"],
    )
    for i in range(10):
        joined = (now - timedelta(hours=20) + timedelta(hours=2 * i)).isoformat()
        create_member(
            client, operator, world.program_id, f"idle{i}", inviter_id=world.mentor, joined_at=joined
        )
    for i in range(9):  # nine idle joins only: one short of a burst
        joined = (now - timedelta(hours=20) + timedelta(minutes=i)).isoformat()
        create_member(client, operator, world.program_id, f"few{i}", inviter_id=first["id"], joined_at=joined)
    assert _scan(client, operator, world.program_id)["opened"] == 2
    found = {c["member_id"]: c for c in cases(client, operator, world.program_id, "open")}
    assert set(found) == {world.owner, world.mentor}
    assert found[world.owner]["severity"] == "high"
    assert len(found[world.owner]["evidence"]["shared_recruits"]) == 2
    assert found[world.mentor]["severity"] == "medium"
    assert len(found[world.mentor]["evidence"]["idle_burst_recruits"]) == 10


def test_implausible_group_counts_join_the_queue(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    world = orders.build(client, operator, factory)
    group = create_group(client, operator, world.owner)
    post_count(client, operator, group["id"], 300, "2026-03-23T20:00:00+08:00")
    post_count(client, operator, group["id"], 340, "2026-03-24T20:00:00+08:00")
    post_count(client, operator, group["id"], 420, "2026-03-25T20:00:00+08:00")
    assert _scan(client, operator, world.program_id)["opened"] == 1
    [case] = cases(client, operator, world.program_id, "open")
    assert (case["rule"], case["member_id"], case["severity"]) == ("padded_group", world.owner, "low")
    assert case["evidence"]["member_count"] == 420
    assert case["evidence"]["reason"] == "implausible_jump"
    assert case["held_fen"] == 0


def test_orders_refunded_after_the_upgrade_they_earned_open_order_brushing(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    world = orders.build(client, operator, factory)
    upgraded = datetime(2026, 3, 31, 16, tzinfo=UTC)  # April in Shanghai
    with transaction(factory) as session:
        session.add(
            MemberTierPeriod(
                member_id=world.seller,
                tier_code="mentor",
                effective_from=upgraded,
                reason="evaluation 2026-03: upgrade",
            )
        )
    for i in range(3):
        post_order(
            client, operator, order_body(world, f"U-{i}", at=PAID_AT + timedelta(days=i), customer=f"u{i}")
        )
        refund = client.post(
            f"/api/v1/orders/U-{i}/refunds?program_id={world.program_id}",
            json={
                "refund_id": f"RU-{i}",
                "amount_fen": 10_000,
                "at": (upgraded + timedelta(days=1)).isoformat(),
            },
            headers=operator,
        )
        assert refund.status_code in {200, 201}, refund.text
    assert _scan(client, operator, world.program_id, upgraded + timedelta(days=3))["opened"] == 1
    [case] = cases(client, operator, world.program_id, "open")
    assert (case["rule"], case["member_id"], case["severity"]) == ("order_brushing", world.seller, "high")
    assert case["evidence"]["refunded_after_evaluation"] == 3


def test_refunds_after_release_far_above_the_program_open_refund_abuse(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    world = orders.build(client, operator, factory, freeze_days=0)
    for i in range(5):
        post_order(client, operator, order_body(world, f"S-{i}", customer=f"s{i}"))
    for i in range(20):
        post_order(client, operator, order_body(world, f"O-{i}", link=world.owner_link, customer=f"o{i}"))
    for ext in [f"S-{i}" for i in range(5)] + [f"O-{i}" for i in range(20)]:
        complete(client, operator, world.program_id, ext, PAID_AT + timedelta(days=1))
    settle(client, operator, world.program_id, PAID_AT + timedelta(days=1))
    for i in range(3):
        refund = client.post(
            f"/api/v1/orders/S-{i}/refunds?program_id={world.program_id}",
            json={
                "refund_id": f"RS-{i}",
                "amount_fen": 10_000,
                "at": (PAID_AT + timedelta(days=2)).isoformat(),
            },
            headers=operator,
        )
        assert refund.status_code in {200, 201}, refund.text
    pending = post_order(
        client, operator, order_body(world, "S-open", at=PAID_AT + timedelta(days=3), customer="s-open")
    )
    assert _scan(client, operator, world.program_id, PAID_AT + timedelta(days=4))["opened"] == 1
    [case] = cases(client, operator, world.program_id, "open")
    assert (case["rule"], case["member_id"], case["severity"]) == ("refund_abuse", world.seller, "high")
    assert case["evidence"]["member_rate_bp"] == 6000
    assert case["evidence"]["program_rate_bp"] == 1200
    assert case["order_ids"] == [pending["id"]]
    assert case["held_fen"] == sum(c["amount_fen"] for c in pending["commissions"])


def test_tier_metrics_leave_out_orders_of_confirmed_cases(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    world = orders.build(client, operator, factory)
    brush(client, operator, world, 10)
    post_order(
        client, operator, order_body(world, "REAL-1", (SKU, 1, 10_000), at=PAID_AT + timedelta(days=3))
    )
    start, end = datetime(2026, 2, 28, 16, tzinfo=UTC), datetime(2026, 3, 31, 16, tzinfo=UTC)

    def orders_counted() -> int:
        with factory() as session:
            figures = period_figures(session, program_id=world.program_id, start=start, end=end)
        return figures.metrics[world.seller].orders

    assert orders_counted() == 11
    [case] = cases(client, operator, world.program_id, "open")
    assert orders_counted() == 11  # an open case is not yet a verdict
    assert resolve(client, operator, case["id"], "confirm").status_code == 200
    assert orders_counted() == 1
