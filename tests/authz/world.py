"""The world of the authorization matrix, built once per module that uses the ``world`` fixture (every
module of ``tests/authz``, through its conftest, and ``tests/test_list_paging.py``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from neigou.auth.models import Role
from tests.authz.matrix import World
from tests.campaigns import builders as campaigns
from tests.conftest import TokenMaker, bearer
from tests.crm import builders as crm
from tests.crm import push_matrix as crm_push
from tests.events import builders as events
from tests.factories import create_member, create_program
from tests.feed import matrix as feed
from tests.groups import builders as groups
from tests.links import builders as links
from tests.offers import factories as offers
from tests.orders import matrix as orders
from tests.risk import builders as risk
from tests.tiers import matrix as tiers


@pytest.fixture(scope="module")
def world(module_client: TestClient, module_operator: dict[str, str], module_make_token: TokenMaker) -> World:
    """The matrix's world, in a ``world_per_module`` module."""
    return build_world(module_client, module_operator, module_make_token)


def build_world(client: TestClient, admin: dict[str, str], make_token: TokenMaker) -> World:
    """Two programs and a member in each, in one organization, with every domain's rows the cases name;
    another organization with its own program, member, merchant and tokens."""
    home = client.post("/api/v1/organizations", json={"code": "home", "name": "本租户"}, headers=admin).json()
    operator = bearer(make_token(Role.OPERATOR, organization_id=home["id"]))
    own_program = create_program(client, operator, code="own")
    other_program = create_program(client, operator, code="other")
    own = create_member(client, operator, own_program["id"], name="own")
    other = create_member(client, operator, other_program["id"], name="other")
    spare = client.post("/api/v1/tokens", json={"role": "integration"}, headers=operator).json()
    shop = client.post("/api/v1/merchants", json={"code": "shop", "name": "店"}, headers=operator).json()
    doomed_shop = client.post(
        "/api/v1/merchants", json={"code": "doomed-shop", "name": "店"}, headers=operator
    )
    merchant = bearer(make_token(Role.MERCHANT, merchant_id=shop["id"]))
    merchant_product = client.post(
        "/api/v1/products",
        json={"sku": "SHOP-SKU", "title": "店品", "price_fen": 500, "commission_rate_bp": 1000},
        headers=merchant,
    ).json()
    merchant_coupon = client.post(
        "/api/v1/coupons", json={**offers.MATRIX_COUPON, "skus": ["SHOP-SKU"]}, headers=merchant
    ).json()
    merchant_promotion = client.post(
        "/api/v1/promotions", json={**offers.MATRIX_PROMOTION, "skus": ["SHOP-SKU"]}, headers=merchant
    ).json()
    reviews = _merchant_reviews(client, operator, merchant, home["id"])
    # Live at offers.NOW (published then) and open until 2099: an ended campaign can no longer be edited.
    with campaigns.campaigns_clock(datetime.fromisoformat(offers.OPENS)):
        merchant_campaign = client.post(
            "/api/v1/campaigns",
            json={
                **campaigns.matrix_campaign(own_program["id"]),
                "skus": ["SHOP-SKU"],
                "starts_at": offers.OPENS,
                "ends_at": "2099-01-01T00:00:00+00:00",
            },
            headers=merchant,
        ).json()
    neighbour = client.post("/api/v1/merchants", json={"code": "next-door", "name": "邻店"}, headers=operator)
    elsewhere = client.post(
        "/api/v1/organizations", json={"code": "elsewhere", "name": "他租户"}, headers=admin
    )
    doomed = client.post("/api/v1/organizations", json={"code": "doomed", "name": "将删"}, headers=admin)
    stranger_program = create_program(client, admin, code="stranger", organization_id=elsewhere.json()["id"])
    stranger = create_member(client, admin, stranger_program["id"], name="stranger")
    stranger_shop = client.post(
        "/api/v1/merchants",
        json={"code": "stranger-shop", "name": "店", "organization_id": elsewhere.json()["id"]},
        headers=admin,
    ).json()
    elsewhere_id = elsewhere.json()["id"]
    ids: dict[str, Any] = {
        "program": own_program["id"],
        "member": own["id"],
        "token": spare["id"],
        "platform": "taobao",
        "doomed_organization": doomed.json()["id"],
        "merchant": shop["id"],
        "doomed_merchant": doomed_shop.json()["id"],
        "merchant_product_id": merchant_product["id"],
        "merchant_coupon_id": merchant_coupon["id"],
        "merchant_promotion_id": merchant_promotion["id"],
        "organization": home["id"],
        "neighbour": neighbour.json()["id"],
        "merchant_campaign_id": merchant_campaign["id"],
        **reviews,
        **offers.matrix_world(client, operator),
        **groups.matrix_world(client, operator, own["id"]),
        **links.matrix_world(client, operator, own["id"], offers.MATRIX_SKU),
        **orders.matrix_world(client, operator, own_program["id"], own["id"]),
        **tiers.matrix_world(client, operator, own_program["id"]),
        **events.matrix_world(client, operator, own_program["id"]),
        **risk.matrix_world(client, operator, own_program["id"]),
        **crm.matrix_world(client, operator, own["id"]),
    }
    return World(
        ids={
            **ids,
            **feed.matrix_world(client, operator, ids),
            **crm_push.matrix_world(client, operator, ids),
        },
        tokens={
            "operator": operator["Authorization"].removeprefix("Bearer "),
            "integration": make_token(Role.INTEGRATION, organization_id=home["id"]),
            "member": make_token(Role.MEMBER, own["id"]),
            "other_member": make_token(Role.MEMBER, other["id"]),
            "merchant": merchant["Authorization"].removeprefix("Bearer "),
            "neighbour": make_token(Role.MERCHANT, merchant_id=neighbour.json()["id"]),
        },
        other_tokens={
            "operator": make_token(Role.OPERATOR, organization_id=elsewhere_id),
            "integration": make_token(Role.INTEGRATION, organization_id=elsewhere_id),
            "member": make_token(Role.MEMBER, stranger["id"]),
            "merchant": make_token(Role.MERCHANT, merchant_id=stranger_shop["id"]),
        },
        admin=admin,
    )


def _merchant_reviews(
    client: TestClient, operator: dict[str, str], merchant: dict[str, str], organization_id: int
) -> dict[str, int]:
    """Two coupons of the merchant held for review (the organization reviews while they are made)."""
    setting = f"/api/v1/organizations/{organization_id}"
    client.patch(setting, json={"review_merchant_changes": True}, headers=operator)
    held = [
        client.post(
            "/api/v1/coupons", json={**offers.MATRIX_COUPON, "skus": ["SHOP-SKU"]}, headers=merchant
        ).json()["id"]
        for _ in range(2)
    ]
    client.patch(setting, json={"review_merchant_changes": False}, headers=operator)
    found = client.get("/api/v1/merchant-reviews", headers=operator).json()
    ids = sorted(r["id"] for r in found if r["coupon_id"] in held)
    return {"merchant_review": ids[0], "doomed_review": ids[1]}
