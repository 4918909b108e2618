"""The feed's estimate of a sku with a fixed commission is what an order of one unit at the group price
through the campaign pays the member: the fixed pool (never more than the price), which the campaign's
boost leaves as it is, as on the order path."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.campaigns import builders as b
from tests.conftest import TokenMaker
from tests.sign_in import member_sign_in

pytestmark = pytest.mark.world_per_module

SHAMPOO_FIXED = 700  # per unit, below the shampoo's group price of ¥24.90
TEE_FIXED = 9000  # per unit, above the tee's ¥59.00: the pool is the price


@pytest.fixture(scope="module")
def world(
    module_client: TestClient, module_operator: dict[str, str], module_make_token: TokenMaker
) -> b.FeedWorld:
    built = b.build(module_client, module_operator, module_make_token)
    for sku, fen in ((b.SHAMPOO, SHAMPOO_FIXED), (b.TEE, TEE_FIXED)):
        response = module_client.put(
            f"/api/v1/sku-commissions/{sku}", json={"fixed_commission_fen": fen}, headers=module_operator
        )
        assert response.status_code == 200, response.text
    # Live now too, for the pages (the real clock's feed): no coupon, the same boost.
    b.create_live_campaign(module_client, module_operator, built.program_id)
    return built


def _order(client: TestClient, operator: dict[str, str], world: b.FeedWorld, item: dict[str, Any]) -> Any:
    """One unit of the item, paid at its group price through the owner's post link for it."""
    post = client.post(
        f"/api/v1/members/{world.owner}/posts",
        json={"group_ids": [world.groups[0]], "skus": [item["sku"]], "at": b.AT.isoformat()},
        headers=world.owner_headers,
    )
    assert post.status_code == 201, post.text
    code = post.json()["posts"][0]["links"][0]["code"]
    body = {
        "external_id": f"fixed-{item['sku']}",
        "program_id": world.program_id,
        "customer_ref": f"shopper-{item['sku']}",
        "link_code": code,
        "items": [{"sku": item["sku"], "quantity": 1, "paid_fen": item["group_price_fen"]}],
        "paid_at": (b.AT + timedelta(hours=1)).isoformat(),
    }
    response = client.post("/api/v1/orders", json=body, headers=operator)
    assert response.status_code == 201, response.text
    return response.json()


def test_the_estimate_of_a_fixed_commission_is_what_an_order_of_one_unit_pays(
    client: TestClient, operator: dict[str, str], world: b.FeedWorld
) -> None:
    items = {i["sku"]: i for i in b.feed(client, world.owner_headers, world.owner, b.AT)["items"]}
    shampoo, tee = items[b.SHAMPOO], items[b.TEE]
    # floor(700 × 2000 / 10^4) = 140, not the boosted rate's floor(2490 × 2500 × 2000 / 10^8) = 124;
    # the tee's fixed ¥90 is more than its ¥59: floor(5900 × 2000 / 10^4) = 1180.
    assert (shampoo["fixed_commission_fen"], shampoo["est_commission_fen"]) == (SHAMPOO_FIXED, 140)
    assert (tee["fixed_commission_fen"], tee["est_commission_fen"]) == (TEE_FIXED, 1180)
    for item in (shampoo, tee):
        order = _order(client, operator, world, item)
        paid = [c["amount_fen"] for c in order["commissions"] if c["member_id"] == world.owner]
        assert paid == [item["est_commission_fen"]], item["sku"]


def test_the_estimate_of_a_fixed_commission_follows_the_members_tier(
    client: TestClient, operator: dict[str, str], world: b.FeedWorld
) -> None:
    items = {i["sku"]: i for i in b.feed(client, operator, world.mentor, b.AT)["items"]}
    assert items[b.SHAMPOO]["est_commission_fen"] == 210  # floor(700 × 3000 / 10^4)
    assert items[b.TEE]["est_commission_fen"] == 1770  # floor(5900 × 3000 / 10^4)


def test_the_feed_page_shows_the_fixed_estimate_without_a_boost(
    client: TestClient, world: b.FeedWorld, make_token: TokenMaker
) -> None:
    """The boost adds nothing to a fixed pool, so the page promises none."""
    member_sign_in(client, make_token("member", world.owner))
    page = client.get("/m/feed?lang=en")
    assert page.status_code == 200
    # No coupon today: floor(700 × 2000 / 10^4) fen of the shampoo, floor(5900 × 2000 / 10^4) of the tee.
    assert 'data-testid="est-commission">¥1.40<' in page.text
    assert 'data-testid="est-commission">¥11.80<' in page.text
    assert 'class="f-boost"' not in page.text
