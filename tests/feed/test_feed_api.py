"""The member's feed: live campaigns of their program, group prices, estimates at their tier."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.db import transaction
from neigou.links.clicks import store_clicks
from neigou.links.models import ShareLink
from neigou.offers.models import CouponTemplate, Product
from tests.campaigns import builders as b
from tests.conftest import TokenMaker, bearer
from tests.factories import create_program
from tests.groups.builders import post_count
from tests.links.builders import click_event

pytestmark = pytest.mark.world_per_module


@pytest.fixture(scope="module")
def world(
    module_client: TestClient, module_operator: dict[str, str], module_make_token: TokenMaker
) -> b.FeedWorld:
    return b.build(module_client, module_operator, module_make_token)


def _by_sku(feed: dict[str, object]) -> dict[str, dict[str, object]]:
    return {i["sku"]: i for i in feed["items"]}  # type: ignore[attr-defined]


def test_the_feed_prices_each_item_for_the_group_and_the_member(
    client: TestClient, world: b.FeedWorld
) -> None:
    feed = b.feed(client, world.owner_headers, world.owner, b.AT)
    assert (feed["tier_code"], feed["share_bp"]) == ("super_member", 2000)
    items = _by_sku(feed)
    shampoo, tee = items[b.SHAMPOO], items[b.TEE]
    assert {k: shampoo[k] for k in ("campaign_id", "sku", "title", "price_fen", "group_price_fen")} == {
        "campaign_id": world.campaign_id,
        "sku": b.SHAMPOO,
        "title": "飘柔 去屑洗发水 500ml",
        "price_fen": 4990,
        "group_price_fen": 2490,
    }
    # floor(2490 × (2000 + 500) × 2000 / 10^8) = floor(124.5); the tee has no coupon of its own:
    # floor(5900 × (1000 + 500) × 2000 / 10^8) = 177
    assert shampoo["est_commission_fen"] == 124
    assert (tee["group_price_fen"], tee["est_commission_fen"]) == (5900, 177)


def test_the_estimate_follows_the_members_tier(
    client: TestClient, operator: dict[str, str], world: b.FeedWorld
) -> None:
    items = _by_sku(b.feed(client, operator, world.mentor, b.AT))
    assert items[b.SHAMPOO]["est_commission_fen"] == 186  # floor(2490 × 2500 × 3000 / 10^8)
    assert items[b.TEE]["est_commission_fen"] == 265  # floor(5900 × 1500 × 3000 / 10^8)


def test_only_campaigns_live_at_the_moment_are_shown(client: TestClient, world: b.FeedWorld) -> None:
    headers, owner = world.owner_headers, world.owner
    assert b.feed(client, headers, owner, b.STARTS - timedelta(seconds=1))["items"] == []
    assert len(b.feed(client, headers, owner, b.STARTS)["items"]) == 2
    assert b.feed(client, headers, owner, b.ENDS)["items"] == []


def test_another_programs_campaigns_never_show(
    client: TestClient, operator: dict[str, str], world: b.FeedWorld
) -> None:
    other = create_program(client, operator, code="elsewhere")
    b.create_campaign(client, operator, b.campaign_body(other["id"], name="别处的活动"))
    items = b.feed(client, world.owner_headers, world.owner, b.AT)["items"]
    assert {i["campaign_id"] for i in items} == {world.campaign_id}


def test_filters_by_price_and_category(
    client: TestClient, operator: dict[str, str], world: b.FeedWorld
) -> None:
    cheap = b.feed(client, world.owner_headers, world.owner, b.AT, max_price_fen=3000)["items"]
    assert [i["sku"] for i in cheap] == [b.SHAMPOO]  # filtered by the group price, ¥24.90
    dear = b.feed(client, world.owner_headers, world.owner, b.AT, min_price_fen=3000)["items"]
    assert [i["sku"] for i in dear] == [b.TEE]
    category = client.post(
        "/api/v1/categories", json={"code": "care", "name": "个护"}, headers=operator
    ).json()
    product = client.get("/api/v1/products", params={"q": b.SHAMPOO}, headers=operator).json()
    shampoo = next(p for p in product if p["sku"] == b.SHAMPOO)
    patched = client.patch(
        f"/api/v1/products/{shampoo['id']}", json={"category_code": "care"}, headers=operator
    )
    assert patched.status_code == 200, patched.text
    shown = b.feed(client, world.owner_headers, world.owner, b.AT, category_id=category["id"])["items"]
    assert [i["sku"] for i in shown] == [b.SHAMPOO]


def test_sold_out_and_withdrawn_items_drop_out(
    factory: sessionmaker[Session], client: TestClient, world: b.FeedWorld
) -> None:
    with transaction(factory) as session:
        session.execute(update(Product).where(Product.sku == b.TEE).values(active=False))
    assert [i["sku"] for i in b.feed(client, world.owner_headers, world.owner, b.AT)["items"]] == [b.SHAMPOO]
    with transaction(factory) as session:
        session.execute(
            update(CouponTemplate)
            .where(CouponTemplate.id == world.coupon_id)
            .values(claimed_quantity=CouponTemplate.total_quantity)
        )
    assert b.feed(client, world.owner_headers, world.owner, b.AT)["items"] == []


def test_ranking_puts_what_earns_and_sells_first(client: TestClient, world: b.FeedWorld) -> None:
    items = b.feed(client, world.owner_headers, world.owner, b.AT)["items"]
    assert [i["score"] for i in items] == sorted((i["score"] for i in items), reverse=True)
    assert all(i["conversion_bp"] == 300 for i in items)  # no traffic yet: the prior


def test_bad_queries_are_problems(client: TestClient, world: b.FeedWorld) -> None:
    naive = client.get(
        f"/api/v1/members/{world.owner}/feed?at=2026-03-24T12:00:00", headers=world.owner_headers
    )
    assert (naive.status_code, naive.json()["code"]) == (422, "validation_error")
    negative = client.get(f"/api/v1/members/{world.owner}/feed?min_price_fen=-1", headers=world.owner_headers)
    assert negative.status_code == 422


def _traffic(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    world: b.FeedWorld,
    *,
    member_id: int,
    headers: dict[str, str],
    group_id: int,
    clicks: int,
    orders: int,
) -> None:
    """A post of the campaign's shampoo for a group, with clicks on its link and orders through it."""
    made = client.post(
        f"/api/v1/members/{member_id}/posts",
        json={"group_ids": [group_id], "skus": [b.SHAMPOO], "at": b.AT.isoformat()},
        headers=headers,
    )
    assert made.status_code == 201, made.text
    [link] = made.json()["posts"][0]["links"]
    with transaction(factory) as session:
        link_id = session.scalar(select(ShareLink.id).where(ShareLink.code == link["code"]))
        assert link_id is not None
        store_clicks(session, [click_event(link_id, member_id, world.program_id) for _ in range(clicks)])
    for n in range(orders):
        order = {
            "external_id": f"PEER-{link['code']}-{n}",
            "program_id": world.program_id,
            "customer_ref": f"peer-shopper-{n}",
            "link_code": link["code"],
            "items": [{"sku": b.SHAMPOO, "quantity": 1, "paid_fen": 2490}],
            "paid_at": (b.AT - timedelta(hours=1)).isoformat(),
        }
        assert client.post("/api/v1/orders", json=order, headers=operator).status_code == 201


def test_conversion_is_the_campaigns_in_groups_of_the_members_size(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    make_token: TokenMaker,
    world: b.FeedWorld,
) -> None:
    seen = (b.AT - timedelta(hours=2)).isoformat()
    for group_id in world.groups:  # the owner's groups are large (400+)
        assert post_count(client, operator, group_id, 420, seen).status_code == 201
    assert post_count(client, operator, world.other_group, 60, seen).status_code == 201  # small
    other_headers = bearer(make_token("member", world.other_owner))
    _traffic(
        client,
        operator,
        factory,
        world,
        member_id=world.owner,
        headers=world.owner_headers,
        group_id=world.groups[0],
        clicks=20,
        orders=10,
    )
    _traffic(
        client,
        operator,
        factory,
        world,
        member_id=world.other_owner,
        headers=other_headers,
        group_id=world.other_group,
        clicks=100,
        orders=0,
    )
    # Every group: 120 clicks, 10 orders → (10 × 10⁴ + 300 × 50) // 170 = 676 bp.
    # Large groups: 20 clicks, 10 orders → (10 × 10⁴ + 676 × 50) // 70 = 1,911 bp.
    # Small groups: 100 clicks, no order → (0 + 676 × 50) // 150 = 225 bp.
    large = _by_sku(b.feed(client, world.owner_headers, world.owner, b.AT))[b.SHAMPOO]
    small = _by_sku(b.feed(client, other_headers, world.other_owner, b.AT))[b.SHAMPOO]
    assert (large["conversion_bp"], small["conversion_bp"]) == (1911, 225)
    # Counts taken after the moment asked for do not place the groups: every group's conversion.
    before = _by_sku(b.feed(client, world.owner_headers, world.owner, b.AT - timedelta(hours=3)))
    assert before[b.SHAMPOO]["conversion_bp"] == 676
