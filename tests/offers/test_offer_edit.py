"""Editing coupons and promotions (PATCH): safe fields at any time, promised terms only before any
claim or order, stock never below what is claimed, pause / resume / end, a merchant's own offers only
(its new terms reviewed again where the organization reviews), every change audited."""

from __future__ import annotations

from datetime import datetime, timedelta
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
SKU = "EDIT-SKU"


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _refused(response: Any) -> tuple[int, str]:
    return response.status_code, response.json()["code"]


def _coupon(*, starts: timedelta = timedelta(days=-1), **extra: Any) -> dict[str, Any]:
    now = utcnow()
    return {
        "name": "满100减10",
        "kind": "amount_off",
        "value": 1000,
        "min_spend_fen": 10000,
        "skus": [SKU],
        "total_quantity": 10,
        "per_customer_limit": 5,
        "starts_at": (now + starts).isoformat(),
        "ends_at": (now + timedelta(days=10)).isoformat(),
        **extra,
    }


def _promotion(*, starts: timedelta = timedelta(days=-1)) -> dict[str, Any]:
    now = utcnow()
    return {
        "name": "满2件8折",
        "kind": "quantity_discount",
        "params": {"min_quantity": 2, "pay_rate_bp": 8000},
        "skus": [SKU],
        "starts_at": (now + starts).isoformat(),
        "ends_at": (now + timedelta(days=10)).isoformat(),
    }


@pytest.fixture(scope="module")
def world(
    module_client: TestClient, module_operator: dict[str, str], module_make_token: TokenMaker
) -> dict[str, Any]:
    client, admin, make_token = module_client, module_operator, module_make_token
    brand = _ok(client.post("/api/v1/organizations", json={"code": "ed", "name": "品牌"}, headers=admin), 201)
    other = _ok(
        client.post("/api/v1/organizations", json={"code": "ed2", "name": "对手"}, headers=admin), 201
    )
    operator = bearer(make_token(Role.OPERATOR, organization_id=brand["id"]))
    shops = [
        _ok(client.post("/api/v1/merchants", json={"code": code, "name": code}, headers=operator), 201)
        for code in ("ed-a", "ed-b")
    ]
    merchant, neighbour = (bearer(make_token(Role.MERCHANT, merchant_id=s["id"])) for s in shops)
    product = {"sku": SKU, "title": "店品", "price_fen": 20000, "commission_rate_bp": 1000}
    _ok(client.post("/api/v1/products", json=product, headers=merchant), 201)
    return {
        "organization": brand["id"],
        "operator": operator,
        "rival": bearer(make_token(Role.OPERATOR, organization_id=other["id"])),
        "merchant": merchant,
        "neighbour": neighbour,
    }


def _claim(client: TestClient, world: dict[str, Any], coupon_id: int, who: str) -> Any:
    body = {"customer_ref": who}
    return client.post(f"/api/v1/coupons/{coupon_id}/claims", json=body, headers=world["operator"])


def _quote(client: TestClient, world: dict[str, Any], coupon_ids: list[int]) -> Any:
    body = {"items": [{"sku": SKU, "quantity": 2}], "coupon_ids": coupon_ids}
    return client.post("/api/v1/quotes", json=body, headers=world["operator"])


def _audit(factory: sessionmaker[Session], entity: str, entity_id: int) -> list[tuple[str, Any, Any]]:
    with factory() as session:
        rows = session.scalars(
            select(AuditEntry)
            .where(AuditEntry.entity == entity, AuditEntry.entity_id == str(entity_id))
            .order_by(AuditEntry.id)
        ).all()
        return [(r.action, r.before, r.after) for r in rows]


def test_terms_change_before_the_first_claim_and_are_locked_after(
    client: TestClient, world: dict[str, Any], factory: sessionmaker[Session]
) -> None:
    coupon = _ok(client.post("/api/v1/coupons", json=_coupon(), headers=world["operator"]), 201)
    path = f"/api/v1/coupons/{coupon['id']}"
    later = (utcnow() + timedelta(days=20)).replace(microsecond=0)
    changed = _ok(
        client.patch(
            path,
            json={
                "name": "满120减15",
                "value": 1500,
                "min_spend_fen": 12000,
                "visibility": "hidden",
                "total_quantity": 20,
                "ends_at": later.isoformat(),
            },
            headers=world["operator"],
        )
    )
    assert (changed["name"], changed["value"], changed["min_spend_fen"], changed["visibility"]) == (
        "满120减15",
        1500,
        12000,
        "hidden",
    )
    assert (changed["total_quantity"], datetime.fromisoformat(changed["ends_at"])) == (20, later)
    entries = _audit(factory, "coupon", coupon["id"])
    assert [(a, sorted(b or {})) for a, b, _ in entries] == [
        ("coupon.create", []),
        ("coupon.update", ["ends_at", "min_spend_fen", "name", "total_quantity", "value", "visibility"]),
    ]
    assert (entries[1][1]["value"], entries[1][2]["value"]) == (1000, 1500)

    _ok(client.patch(path, json={"visibility": "public"}, headers=world["operator"]))
    _ok(_claim(client, world, coupon["id"], "13800000001"), 201)
    _ok(_claim(client, world, coupon["id"], "13800000001"), 201)
    before = row_counts(factory)
    for terms in ({"value": 2000}, {"min_spend_fen": 0}, {"visibility": "hidden"}, {"cap_fen": None}):
        locked = client.patch(path, json=terms, headers=world["operator"])
        if terms == {"cap_fen": None}:  # unchanged: nothing to refuse
            assert locked.status_code == 200
            continue
        assert _refused(locked) == (409, "terms_locked")
        assert locked.json()["fields"] == sorted(terms)
    low = client.patch(path, json={"total_quantity": 1, "name": "x"}, headers=world["operator"])
    assert _refused(low) == (409, "quantity_below_claimed")
    assert low.json()["claimed_quantity"] == 2
    zh = client.patch(path, json={"value": 2000}, headers={**world["operator"], "Accept-Language": "zh-CN"})
    assert "已" in zh.json()["detail"]
    assert row_counts(factory) == before
    kept = _ok(client.patch(path, json={"total_quantity": 2, "name": "已领完"}, headers=world["operator"]))
    assert (kept["total_quantity"], kept["remaining_quantity"], kept["name"], kept["value"]) == (
        2,
        0,
        "已领完",
        1500,
    )


def test_an_order_through_a_link_with_the_coupon_locks_its_terms(
    client: TestClient, world: dict[str, Any]
) -> None:
    coupon = _ok(client.post("/api/v1/coupons", json=_coupon(), headers=world["operator"]), 201)
    path = f"/api/v1/coupons/{coupon['id']}"
    program = create_program(client, world["operator"], code="edit-orders")
    member = create_member(client, world["operator"], program["id"], name="seller")
    link = {"member_id": member["id"], "sku": SKU, "coupon_id": coupon["id"]}
    made = _ok(client.post("/api/v1/links", json=link, headers=world["operator"]), 201)
    assert _ok(client.patch(path, json={"value": 1200}, headers=world["operator"]))["value"] == 1200
    order = {
        "external_id": "EDIT-1",
        "program_id": program["id"],
        "customer_ref": "13800000009",
        "link_code": made["code"],
        "paid_at": utcnow().isoformat(),
        "items": [{"sku": SKU, "quantity": 1, "paid_fen": 18800}],
    }
    _ok(client.post("/api/v1/orders", json=order, headers=world["operator"]), 201)
    assert _ok(client.get(path, headers=world["operator"]))["claimed_quantity"] == 0
    assert _refused(client.patch(path, json={"value": 1300}, headers=world["operator"])) == (
        409,
        "terms_locked",
    )


def test_the_end_moves_only_forward_and_after_the_start(client: TestClient, world: dict[str, Any]) -> None:
    coupon = _ok(
        client.post("/api/v1/coupons", json=_coupon(starts=timedelta(days=3)), headers=world["operator"]), 201
    )
    path = f"/api/v1/coupons/{coupon['id']}"
    past = (utcnow() - timedelta(minutes=1)).isoformat()
    assert _refused(client.patch(path, json={"ends_at": past}, headers=world["operator"])) == (
        422,
        "ends_in_past",
    )
    early = (utcnow() + timedelta(days=1)).isoformat()
    assert _refused(client.patch(path, json={"ends_at": early}, headers=world["operator"])) == (
        422,
        "invalid_window",
    )
    cleared = client.patch(path, json={"name": None}, headers=world["operator"])
    assert _refused(cleared) == (422, "validation_error")
    percent = client.patch(path, json={"cap_fen": 100}, headers=world["operator"])
    assert _refused(percent) == (422, "cap_not_allowed")


def test_pause_resume_and_end_a_coupon(
    client: TestClient, world: dict[str, Any], factory: sessionmaker[Session]
) -> None:
    coupon = _ok(client.post("/api/v1/coupons", json=_coupon(), headers=world["operator"]), 201)
    path = f"/api/v1/coupons/{coupon['id']}"
    assert _ok(client.patch(path, json={"status": "paused"}, headers=world["operator"]))["paused"] is True
    assert _refused(_claim(client, world, coupon["id"], "13800000002")) == (409, "not_active")
    assert _refused(_quote(client, world, [coupon["id"]])) == (409, "coupon_paused")
    running = _ok(client.get("/api/v1/coupons?active=true", headers=world["operator"]))
    assert coupon["id"] not in [c["id"] for c in running]
    assert _ok(client.patch(path, json={"status": "active"}, headers=world["operator"]))["paused"] is False
    _ok(_claim(client, world, coupon["id"], "13800000002"), 201)
    ended = _ok(client.patch(path, json={"status": "ended"}, headers=world["operator"]))
    assert datetime.fromisoformat(ended["ends_at"]) <= utcnow()
    assert _refused(_claim(client, world, coupon["id"], "13800000003")) == (409, "not_active")
    again = client.patch(path, json={"status": "active"}, headers=world["operator"])
    assert _refused(again) == (409, "offer_ended")
    later = (utcnow() + timedelta(days=1)).isoformat()
    reopened = _ok(client.patch(path, json={"status": "active", "ends_at": later}, headers=world["operator"]))
    assert reopened["paused"] is False
    entries = _audit(factory, "coupon", coupon["id"])
    actions = [(a, sorted(after)) for a, _, after in entries if a == "coupon.update"]
    assert actions == [
        ("coupon.update", ["paused"]),
        ("coupon.update", ["paused"]),
        ("coupon.update", ["ends_at"]),
        ("coupon.update", ["ends_at"]),
    ]


def test_a_merchant_edits_its_own_coupons_and_new_terms_wait_for_review(
    client: TestClient, world: dict[str, Any]
) -> None:
    coupon = _ok(client.post("/api/v1/coupons", json=_coupon(), headers=world["merchant"]), 201)
    path = f"/api/v1/coupons/{coupon['id']}"
    assert _refused(client.patch(path, json={"name": "x"}, headers=world["neighbour"])) == (
        404,
        "coupon_not_found",
    )
    assert _refused(client.patch(path, json={"name": "x"}, headers=world["rival"])) == (
        404,
        "coupon_not_found",
    )
    assert _ok(client.patch(path, json={"value": 800}, headers=world["merchant"]))["live"] is True
    setting = {"review_merchant_changes": True}
    _ok(
        client.patch(
            f"/api/v1/organizations/{world['organization']}", json=setting, headers=world["operator"]
        )
    )
    renamed = _ok(client.patch(path, json={"name": "新名", "total_quantity": 30}, headers=world["merchant"]))
    assert (renamed["name"], renamed["live"]) == ("新名", True)
    held = _ok(client.patch(path, json={"value": 900}, headers=world["merchant"]))
    assert (held["value"], held["live"]) == (900, False)
    assert _ok(client.patch(path, json={"min_spend_fen": 9000}, headers=world["merchant"]))["live"] is False
    pending = _ok(client.get("/api/v1/merchant-reviews?status=pending", headers=world["operator"]))
    assert [(r["kind"], r["coupon_id"]) for r in pending] == [("coupon", coupon["id"])]
    _ok(
        client.post(
            f"/api/v1/merchant-reviews/{pending[0]['id']}/approve", json={}, headers=world["operator"]
        )
    )
    by_operator = _ok(client.patch(path, json={"value": 700}, headers=world["operator"]))
    assert (by_operator["value"], by_operator["live"]) == (700, True)


def test_promotion_terms_change_until_it_opens(
    client: TestClient, world: dict[str, Any], factory: sessionmaker[Session]
) -> None:
    upcoming = _ok(
        client.post(
            "/api/v1/promotions", json=_promotion(starts=timedelta(days=2)), headers=world["merchant"]
        ),
        201,
    )
    path = f"/api/v1/promotions/{upcoming['id']}"
    terms = {"params": {"min_quantity": 3, "pay_rate_bp": 7000}, "name": "满3件7折"}
    changed = _ok(client.patch(path, json=terms, headers=world["merchant"]))
    assert (changed["params"], changed["name"]) == ({"min_quantity": 3, "pay_rate_bp": 7000}, "满3件7折")
    wrong = client.patch(
        path, json={"params": {"min_spend_fen": 100, "off_fen": 10}}, headers=world["merchant"]
    )
    assert _refused(wrong) == (422, "params_kind_mismatch")
    assert _refused(client.patch(path, json={"name": "x"}, headers=world["neighbour"])) == (
        404,
        "promotion_not_found",
    )

    running = _ok(client.post("/api/v1/promotions", json=_promotion(), headers=world["operator"]), 201)
    path = f"/api/v1/promotions/{running['id']}"
    before = row_counts(factory)
    locked = client.patch(
        path, json={"params": {"min_quantity": 2, "pay_rate_bp": 9000}}, headers=world["operator"]
    )
    assert _refused(locked) == (409, "terms_locked")
    assert row_counts(factory) == before
    same = _ok(client.patch(path, json={"params": running["params"]}, headers=world["operator"]))
    assert same["params"] == running["params"]
    assert _ok(_quote(client, world, []))["promotion_discount_fen"] == 8000
    assert _ok(client.patch(path, json={"status": "paused"}, headers=world["operator"]))["paused"] is True
    assert _ok(_quote(client, world, []))["promotion_discount_fen"] == 0
    _ok(client.patch(path, json={"status": "active"}, headers=world["operator"]))
    assert _ok(_quote(client, world, []))["promotion_discount_fen"] == 8000
    _ok(client.patch(path, json={"status": "ended"}, headers=world["operator"]))
    assert _ok(_quote(client, world, []))["promotion_discount_fen"] == 0
    assert _refused(client.patch(path, json={"status": "paused"}, headers=world["operator"])) == (
        409,
        "offer_ended",
    )
    assert [a for a, _, _ in _audit(factory, "promotion", running["id"])] == [
        "promotion.create",
        "promotion.update",
        "promotion.update",
        "promotion.update",
    ]
