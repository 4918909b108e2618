"""The optional review of merchants' changes: with it on, a merchant's new coupon is used by no
link, claim, quote, campaign or shopper's list until an operator approves it, and a new commission
rate is not the product's until approved; decisions are made once and audited."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.audit.models import AuditEntry
from neigou.auth.models import Role
from neigou.kit.clock import utcnow
from tests.conftest import TokenMaker, bearer, row_counts
from tests.factories import create_member, create_program

pytestmark = pytest.mark.world_per_module


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _coupon() -> dict[str, Any]:
    now = utcnow()
    return {
        "name": "店铺隐藏券",
        "kind": "amount_off",
        "value": 100,
        "visibility": "public",
        "skus": ["REVIEW-SKU"],
        "total_quantity": 10,
        "starts_at": (now - timedelta(days=1)).isoformat(),
        "ends_at": (now + timedelta(days=10)).isoformat(),
    }


@pytest.fixture(scope="module")
def world(
    module_client: TestClient, module_operator: dict[str, str], module_make_token: TokenMaker
) -> dict[str, Any]:
    client, admin, make_token = module_client, module_operator, module_make_token
    brand = _ok(
        client.post("/api/v1/organizations", json={"code": "brand", "name": "品牌"}, headers=admin), 201
    )
    other = _ok(
        client.post("/api/v1/organizations", json={"code": "rival", "name": "对手"}, headers=admin), 201
    )
    operator = bearer(make_token(Role.OPERATOR, organization_id=brand["id"]))
    program = create_program(client, operator, code="review")
    member = create_member(client, operator, program["id"], name="seller")
    shop = _ok(client.post("/api/v1/merchants", json={"code": "r-shop", "name": "店"}, headers=operator), 201)
    merchant = bearer(make_token(Role.MERCHANT, merchant_id=shop["id"]))
    product = _ok(
        client.post(
            "/api/v1/products",
            json={"sku": "REVIEW-SKU", "title": "店品", "price_fen": 1000, "commission_rate_bp": 1000},
            headers=merchant,
        ),
        201,
    )
    setting = client.patch(
        f"/api/v1/organizations/{brand['id']}", json={"review_merchant_changes": True}, headers=operator
    )
    assert _ok(setting)["review_merchant_changes"] is True
    return {
        "organization": brand["id"],
        "operator": operator,
        "rival": bearer(make_token(Role.OPERATOR, organization_id=other["id"])),
        "program": program["id"],
        "member": member["id"],
        "member_token": bearer(make_token(Role.MEMBER, member["id"])),
        "merchant": merchant,
        "product": product["id"],
    }


def test_a_coupon_under_review_is_used_by_nothing_until_approved(
    client: TestClient, world: dict[str, Any], factory: sessionmaker[Session]
) -> None:
    coupon = _ok(client.post("/api/v1/coupons", json=_coupon(), headers=world["merchant"]), 201)
    assert coupon["live"] is False
    reviews = _ok(client.get("/api/v1/merchant-reviews?status=pending", headers=world["operator"]))
    assert [(r["kind"], r["coupon_id"], r["status"]) for r in reviews] == [
        ("coupon", coupon["id"], "pending")
    ]
    assert _ok(client.get("/api/v1/coupons", headers=world["member_token"])) == []
    hidden = client.get(f"/api/v1/coupons/{coupon['id']}", headers=world["member_token"])
    assert (hidden.status_code, hidden.json()["code"]) == (404, "coupon_not_found")
    link = {"member_id": world["member"], "sku": "REVIEW-SKU", "coupon_id": coupon["id"]}
    refused = client.post("/api/v1/links", json=link, headers=world["operator"])
    assert (refused.status_code, refused.json()["code"]) == (409, "coupon_under_review")
    quote = {"items": [{"sku": "REVIEW-SKU", "quantity": 1}], "coupon_ids": [coupon["id"]]}
    quoted = client.post("/api/v1/quotes", json=quote, headers=world["operator"])
    assert (quoted.status_code, quoted.json()["code"]) == (409, "coupon_under_review")
    claim = client.post(
        f"/api/v1/coupons/{coupon['id']}/claims",
        json={"customer_ref": "13800000000"},
        headers=world["operator"],
    )
    assert (claim.status_code, claim.json()["code"]) == (409, "not_active")
    now = utcnow()
    campaign = {
        "program_id": world["program"],
        "name": "上新",
        "skus": ["REVIEW-SKU"],
        "coupon_id": coupon["id"],
        "starts_at": now.isoformat(),
        "ends_at": (now + timedelta(days=1)).isoformat(),
    }
    held = client.post("/api/v1/campaigns", json=campaign, headers=world["operator"])
    assert (held.status_code, held.json()["code"]) == (409, "coupon_under_review")

    by_merchant = client.post(
        f"/api/v1/merchant-reviews/{reviews[0]['id']}/approve", json={}, headers=world["merchant"]
    )
    assert by_merchant.status_code == 403
    by_rival = client.post(
        f"/api/v1/merchant-reviews/{reviews[0]['id']}/approve", json={}, headers=world["rival"]
    )
    assert (by_rival.status_code, by_rival.json()["code"]) == (404, "review_not_found")
    approved = client.post(
        f"/api/v1/merchant-reviews/{reviews[0]['id']}/approve",
        json={"note": "可以"},
        headers=world["operator"],
    )
    assert (_ok(approved)["status"], approved.json()["note"]) == ("approved", "可以")
    again = client.post(
        f"/api/v1/merchant-reviews/{reviews[0]['id']}/approve", json={}, headers=world["operator"]
    )
    assert _ok(again)["decided_at"] == approved.json()["decided_at"]
    flip = client.post(
        f"/api/v1/merchant-reviews/{reviews[0]['id']}/reject", json={}, headers=world["operator"]
    )
    assert (flip.status_code, flip.json()["code"]) == (409, "review_decided")
    assert [c["id"] for c in _ok(client.get("/api/v1/coupons", headers=world["member_token"]))] == [
        coupon["id"]
    ]
    _ok(client.post("/api/v1/links", json=link, headers=world["operator"]), 201)
    with factory() as session:
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.entity == "merchant_review").order_by(AuditEntry.id)
        ).all()
    assert actions == ["merchant_review.request", "merchant_review.approve"]


def test_a_commission_change_waits_and_a_rejection_keeps_the_rate(
    client: TestClient, world: dict[str, Any], factory: sessionmaker[Session]
) -> None:
    path = f"/api/v1/products/{world['product']}"
    changed = client.patch(
        path, json={"commission_rate_bp": 2500, "title": "新名"}, headers=world["merchant"]
    )
    assert (_ok(changed)["commission_rate_bp"], changed.json()["title"]) == (1000, "新名")
    before = row_counts(factory)
    twice = client.patch(path, json={"commission_rate_bp": 3000}, headers=world["merchant"])
    assert (twice.status_code, twice.json()["code"]) == (409, "review_pending")
    assert row_counts(factory) == before
    mine = _ok(client.get("/api/v1/merchant-reviews", headers=world["merchant"]))
    rate = next(r for r in mine if r["kind"] == "commission_rate")
    assert (rate["rate_before_bp"], rate["rate_after_bp"], rate["status"]) == (1000, 2500, "pending")
    _ok(
        client.post(
            f"/api/v1/merchant-reviews/{rate['id']}/reject", json={"note": "太高"}, headers=world["operator"]
        )
    )
    assert _ok(client.get(path, headers=world["operator"]))["commission_rate_bp"] == 1000
    # Another request after the rejection, approved this time: the product takes the rate.
    _ok(client.patch(path, json={"commission_rate_bp": 1500}, headers=world["merchant"]))
    pending = _ok(client.get("/api/v1/merchant-reviews?status=pending", headers=world["operator"]))
    _ok(
        client.post(
            f"/api/v1/merchant-reviews/{pending[0]['id']}/approve", json={}, headers=world["operator"]
        )
    )
    assert _ok(client.get(path, headers=world["operator"]))["commission_rate_bp"] == 1500


def test_an_operators_rate_change_and_an_unreviewed_organization_apply_at_once(
    client: TestClient, world: dict[str, Any]
) -> None:
    path = f"/api/v1/products/{world['product']}"
    assert (
        _ok(client.patch(path, json={"commission_rate_bp": 1200}, headers=world["operator"]))[
            "commission_rate_bp"
        ]
        == 1200
    )
    off = client.patch(
        f"/api/v1/organizations/{world['organization']}",
        json={"review_merchant_changes": False},
        headers=world["operator"],
    )
    assert _ok(off)["review_merchant_changes"] is False
    assert (
        _ok(client.patch(path, json={"commission_rate_bp": 1300}, headers=world["merchant"]))[
            "commission_rate_bp"
        ]
        == 1300
    )
    assert _ok(client.post("/api/v1/coupons", json=_coupon(), headers=world["merchant"]), 201)["live"] is True


def test_another_organizations_operator_cannot_change_the_setting(
    client: TestClient, world: dict[str, Any]
) -> None:
    answer = client.patch(
        f"/api/v1/organizations/{world['organization']}",
        json={"review_merchant_changes": False},
        headers=world["rival"],
    )
    assert (answer.status_code, answer.json()["code"]) == (404, "organization_not_found")
    assert client.get("/api/v1/merchant-reviews", headers=world["rival"]).json() == []
