"""A merchant edits its own campaigns only, with its own skus only; an operator of the organization
edits any of them but cannot slip another merchant's (or the organization's) sku into a merchant's
campaign; a coupon still under review is refused."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth.models import Role
from neigou.campaigns.models import Campaign
from neigou.kit.clock import utcnow
from neigou.kit.db import transaction
from tests.conftest import TokenMaker, bearer, row_counts
from tests.factories import create_member, create_program

pytestmark = pytest.mark.world_per_module


def _ok(response: Any, status: int = 201) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture(scope="module")
def world(
    module_client: TestClient, module_operator: dict[str, str], module_make_token: TokenMaker
) -> dict[str, Any]:
    client, admin, make_token = module_client, module_operator, module_make_token
    home = _ok(client.post("/api/v1/organizations", json={"code": "shops", "name": "店群"}, headers=admin))
    operator = bearer(make_token(Role.OPERATOR, organization_id=home["id"]))
    program = create_program(client, operator, code="shop-campaigns")
    member = create_member(client, operator, program["id"], name="seller")
    shops = [
        _ok(client.post("/api/v1/merchants", json={"code": code, "name": code}, headers=operator))
        for code in ("shop-a", "shop-b")
    ]
    a, b = (bearer(make_token(Role.MERCHANT, merchant_id=s["id"])) for s in shops)
    for headers, sku in ((a, "A-SKU"), (a, "A2-SKU"), (b, "B-SKU"), (operator, "ORG-SKU")):
        body = {"sku": sku, "title": sku, "price_fen": 1000, "commission_rate_bp": 1000}
        _ok(client.post("/api/v1/products", json=body, headers=headers))
    now = utcnow()
    # Upcoming: its products and boost may still change (a started campaign keeps them: test_edit.py).
    campaign = _ok(
        client.post(
            "/api/v1/campaigns",
            json={
                "program_id": program["id"],
                "name": "店铺上新",
                "skus": ["A-SKU"],
                "starts_at": (now + timedelta(hours=1)).isoformat(),
                "ends_at": (now + timedelta(days=7)).isoformat(),
            },
            headers=a,
        )
    )
    return {
        "organization": home["id"],
        "operator": operator,
        "a": a,
        "b": b,
        "member": bearer(make_token(Role.MEMBER, member["id"])),
        "campaign": campaign["id"],
        "shop_a": shops[0]["id"],
    }


def _patch(client: TestClient, world: dict[str, Any], who: str, body: dict[str, Any]) -> Any:
    return client.patch(f"/api/v1/campaigns/{world['campaign']}", json=body, headers=world[who])


def test_a_merchant_edits_its_own_campaign_with_its_own_skus(
    client: TestClient, world: dict[str, Any], factory: sessionmaker[Session]
) -> None:
    edited = _ok(_patch(client, world, "a", {"skus": ["A-SKU", "A2-SKU"], "copy": "两款上新"}), 200)
    assert (edited["skus"], edited["copy"], edited["merchant_id"]) == (
        ["A-SKU", "A2-SKU"],
        "两款上新",
        world["shop_a"],
    )
    before = row_counts(factory)
    for sku in ("B-SKU", "ORG-SKU"):
        other = _patch(client, world, "a", {"skus": ["A-SKU", sku]})
        assert (other.status_code, other.json()["code"]) == (404, "product_not_found"), sku
    hidden = _patch(client, world, "b", {"name": "抢来的"})
    assert (hidden.status_code, hidden.json()["code"]) == (404, "campaign_not_found")
    member = _patch(client, world, "member", {"name": "会员改"})
    assert member.status_code == 403
    assert row_counts(factory) == before


def test_an_operator_keeps_a_merchants_campaign_to_that_merchants_skus(
    client: TestClient, world: dict[str, Any], factory: sessionmaker[Session]
) -> None:
    before = row_counts(factory)
    for sku in ("B-SKU", "ORG-SKU"):
        mixed = _patch(client, world, "operator", {"skus": ["A-SKU", sku]})
        assert (mixed.status_code, mixed.json()["code"]) == (422, "sku_of_other_merchant"), sku
        assert (mixed.json()["field"], mixed.json()["indexes"]) == ("skus", [1])
        assert sku not in mixed.text
    assert row_counts(factory) == before
    renamed = _ok(_patch(client, world, "operator", {"name": "运营改名", "commission_boost_bp": 200}), 200)
    assert (renamed["name"], renamed["commission_boost_bp"]) == ("运营改名", 200)
    audit = client.get(
        "/api/v1/audit-log",
        params={"entity": "campaign", "entity_id": world["campaign"]},
        headers=world["operator"],
    ).json()
    assert audit[0]["action"] == "campaign.update"
    assert audit[0]["before"]["boost_bp"] == 0
    assert audit[0]["after"]["boost_bp"] == 200


def _coupon(client: TestClient, headers: dict[str, str], skus: list[str] | None) -> int:
    now = utcnow()
    body = {
        "name": "券",
        "kind": "amount_off",
        "value": 100,
        "visibility": "public",
        "skus": skus,
        "total_quantity": 10,
        "starts_at": (now - timedelta(days=1)).isoformat(),
        "ends_at": (now + timedelta(days=10)).isoformat(),
    }
    made: int = _ok(client.post("/api/v1/coupons", json=body, headers=headers))["id"]
    return made


def test_a_merchants_campaign_carries_that_merchants_coupon_only(
    client: TestClient, world: dict[str, Any], factory: sessionmaker[Session]
) -> None:
    organizations, theirs, mine = (
        _coupon(client, world[who], skus)
        for who, skus in (("operator", None), ("b", ["B-SKU"]), ("a", ["A-SKU"]))
    )
    before = row_counts(factory)
    for coupon_id in (organizations, theirs):
        refused = _patch(client, world, "operator", {"coupon_id": coupon_id})
        assert (refused.status_code, refused.json()["code"]) == (422, "coupon_of_other_merchant")
        assert str(coupon_id) not in refused.json()["detail"]
        hidden = _patch(client, world, "a", {"coupon_id": coupon_id})
        assert (hidden.status_code, hidden.json()["code"]) == (422, "unknown_coupon")
    assert row_counts(factory) == before
    assert _ok(_patch(client, world, "operator", {"coupon_id": mine}), 200)["coupon_id"] == mine
    assert _ok(_patch(client, world, "a", {"name": "店铺上新 券"}), 200)["coupon_id"] == mine
    # A coupon the campaign already carries (attached before the rule) is kept, not looked up again
    # under the merchant's scope: the merchant still edits its campaign.
    with transaction(factory) as session:
        session.get_one(Campaign, world["campaign"]).coupon_id = organizations
    kept = _ok(_patch(client, world, "a", {"name": "店铺上新"}), 200)
    assert kept["coupon_id"] == organizations
    assert _ok(_patch(client, world, "a", {"coupon_id": None}), 200)["coupon_id"] is None


def test_a_coupon_under_review_is_refused(
    client: TestClient, world: dict[str, Any], factory: sessionmaker[Session]
) -> None:
    setting = client.patch(
        f"/api/v1/organizations/{world['organization']}",
        json={"review_merchant_changes": True},
        headers=world["operator"],
    )
    assert setting.status_code == 200, setting.text
    now = utcnow()
    coupon = {
        "name": "店铺券",
        "kind": "amount_off",
        "value": 100,
        "visibility": "public",
        "skus": ["A-SKU"],
        "total_quantity": 10,
        "starts_at": (now - timedelta(days=1)).isoformat(),
        "ends_at": (now + timedelta(days=10)).isoformat(),
    }
    held = _ok(client.post("/api/v1/coupons", json=coupon, headers=world["a"]))
    assert held["live"] is False
    before = row_counts(factory)
    refused = _patch(client, world, "a", {"coupon_id": held["id"]})
    assert (refused.status_code, refused.json()["code"]) == (409, "coupon_under_review")
    assert row_counts(factory) == before
