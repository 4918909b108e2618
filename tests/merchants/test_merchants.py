"""Merchants: their own products and offers, another merchant's sku a 404, their sales counted on
their lines only, by day in the program's time zone; every merchant write audited."""

from __future__ import annotations

import io
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.audit.models import AuditEntry
from neigou.auth.models import Role
from neigou.merchants import sales
from neigou.reporting.merchant_sales import merchant_sales_by
from tests.conftest import TokenMaker, bearer
from tests.factories import create_member, create_program

pytestmark = pytest.mark.world_per_module

# Open until 2099: a share link may name a coupon only until it ends, by the real clock.
COUPON = {
    "name": "店铺券",
    "kind": "amount_off",
    "value": 100,
    "visibility": "hidden",
    "total_quantity": 10,
    "starts_at": "2026-01-01T00:00:00+08:00",
    "ends_at": "2099-01-01T00:00:00+08:00",
}


def _ok(response: Any, status: int = 201) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def _product(client: TestClient, headers: dict[str, str], sku: str, **extra: Any) -> dict[str, Any]:
    body = {"sku": sku, "title": sku, "price_fen": 1000, "commission_rate_bp": 1000, **extra}
    return _ok(client.post("/api/v1/products", json=body, headers=headers))


def _order(
    client: TestClient, headers: dict[str, str], program_id: int, external_id: str, **extra: Any
) -> None:
    body = {
        "external_id": external_id,
        "program_id": program_id,
        "customer_ref": f"shopper-{external_id}",
        **extra,
    }
    _ok(client.post("/api/v1/orders", json=body, headers=headers))


@pytest.fixture(scope="module")
def world(
    module_client: TestClient, module_operator: dict[str, str], module_make_token: TokenMaker
) -> dict[str, Any]:
    client, operator = module_client, module_operator
    program = create_program(client, operator, code="shops")
    upline = create_member(client, operator, program["id"], name="upline")
    seller = create_member(client, operator, program["id"], name="seller", inviter_id=upline["id"])
    shop_a = _ok(client.post("/api/v1/merchants", json={"code": "shop-a", "name": "甲店"}, headers=operator))
    shop_b = _ok(client.post("/api/v1/merchants", json={"code": "shop-b", "name": "乙店"}, headers=operator))
    a = bearer(module_make_token(Role.MERCHANT, merchant_id=shop_a["id"]))
    b = bearer(module_make_token(Role.MERCHANT, merchant_id=shop_b["id"]))
    a_product = _product(client, a, "A-SKU")
    _product(client, operator, "B-SKU", merchant_id=shop_b["id"])
    _product(client, operator, "PLATFORM-SKU")
    link = _ok(
        client.post("/api/v1/links", json={"member_id": seller["id"], "sku": "A-SKU"}, headers=operator)
    )
    items = [
        {"sku": "A-SKU", "quantity": 3, "paid_fen": 3000},
        {"sku": "B-SKU", "quantity": 1, "paid_fen": 2000},
    ]
    _order(
        client,
        operator,
        program["id"],
        "O-1",
        items=items,
        link_code=link["code"],
        paid_at="2026-03-10T10:00:00+08:00",
    )
    refund = {"refund_id": "R-1", "amount_fen": 1000, "at": "2026-03-15T00:00:00+08:00"}
    _ok(client.post("/api/v1/orders/O-1/refunds", json=refund, headers=operator), 201)
    one = [{"sku": "A-SKU", "quantity": 1, "paid_fen": 1000}]
    _order(client, operator, program["id"], "O-2", items=one, paid_at="2026-03-20T12:00:00+08:00")
    # 16:30 UTC on 31 March: 1 April in Shanghai, outside a March range in the program's time zone.
    _order(client, operator, program["id"], "O-3", items=one, paid_at="2026-04-01T00:30:00+08:00")
    return {
        "a": a,
        "b": b,
        "shop_a": shop_a["id"],
        "shop_b": shop_b["id"],
        "a_product": a_product["id"],
        "program": program["id"],
    }


def _sales(client: TestClient, headers: dict[str, str], merchant_id: int) -> Any:
    return client.get(f"/api/v1/merchants/{merchant_id}/sales?from=2026-03-01&to=2026-03-31", headers=headers)


def test_sales_count_the_merchants_lines_only(
    client: TestClient, operator: dict[str, str], world: dict[str, Any]
) -> None:
    # O-1: A's lines paid 3000 of 5000, a fifth refunded: 600. Commission on them: seller
    # 3000 × 10% × 20% = 60, upline 3000 × 10% × 5% = 15, each less a fifth reversed: 48 + 12.
    # O-2 has no seller (no commission); O-3 is paid on 1 April in the program's time zone.
    a = _ok(_sales(client, world["a"], world["shop_a"]), 200)
    assert {k: a[k] for k in ("orders", "gmv_fen", "refund_fen", "commission_fen")} == {
        "orders": 2,
        "gmv_fen": 4000,
        "refund_fen": 600,
        "commission_fen": 60,
    }
    assert (a["from"], a["to"]) == ("2026-03-01", "2026-03-31")
    b = _ok(_sales(client, operator, world["shop_b"]), 200)  # an operator reads any of its merchants
    assert (b["orders"], b["gmv_fen"], b["refund_fen"], b["commission_fen"]) == (1, 2000, 400, 40)
    assert "customer" not in str(a)


def test_a_merchant_sees_nothing_of_another(client: TestClient, world: dict[str, Any]) -> None:
    other = _sales(client, world["a"], world["shop_b"])
    assert (other.status_code, other.json()["code"]) == (404, "merchant_not_found")
    assert [p["sku"] for p in client.get("/api/v1/products", headers=world["a"]).json()] == ["A-SKU"]
    coupon = client.post("/api/v1/coupons", json={**COUPON, "skus": ["B-SKU"]}, headers=world["a"])
    assert (coupon.status_code, coupon.json()["code"]) == (404, "product_not_found")
    platform = client.post(
        "/api/v1/promotions", json={**_promotion(), "skus": ["PLATFORM-SKU"]}, headers=world["a"]
    )
    assert (platform.status_code, platform.json()["code"]) == (404, "product_not_found")
    unscoped = client.post("/api/v1/coupons", json=COUPON, headers=world["a"])
    assert (unscoped.status_code, unscoped.json()["code"]) == (422, "skus_required")
    for path in ("/api/v1/programs", "/api/v1/withdrawals", "/api/v1/audit-log", "/api/v1/merchants"):
        assert client.get(path, headers=world["a"]).status_code == 403, path


def _promotion() -> dict[str, Any]:
    return {
        "name": "满减",
        "kind": "spend_threshold_off",
        "params": {"min_spend_fen": 100, "off_fen": 10},
        "starts_at": "2026-01-01T00:00:00+08:00",
        "ends_at": "2099-01-01T00:00:00+08:00",
    }


def test_a_merchant_runs_its_own_offers_and_rates_audited(
    client: TestClient, world: dict[str, Any], factory: sessionmaker[Session]
) -> None:
    coupon = _ok(client.post("/api/v1/coupons", json={**COUPON, "skus": ["A-SKU"]}, headers=world["a"]))
    assert coupon["merchant_id"] == world["shop_a"]
    assert coupon["remaining_quantity"] == 10
    promotion = _ok(
        client.post("/api/v1/promotions", json={**_promotion(), "skus": ["A-SKU"]}, headers=world["a"])
    )
    assert promotion["merchant_id"] == world["shop_a"]
    rate = client.patch(
        f"/api/v1/products/{world['a_product']}", json={"commission_rate_bp": 1500}, headers=world["a"]
    )
    assert _ok(rate, 200)["commission_rate_bp"] == 1500
    assert [c["id"] for c in client.get("/api/v1/coupons", headers=world["b"]).json()] == []
    with factory() as session:
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.actor_kind == "merchant").order_by(AuditEntry.id)
        ).all()
    assert actions[-3:] == ["coupon.create", "promotion.create", "product.update"]


def test_a_product_with_orders_stays_with_its_merchant(
    client: TestClient, operator: dict[str, str], world: dict[str, Any]
) -> None:
    moved = client.patch(
        f"/api/v1/products/{world['a_product']}", json={"merchant_id": world["shop_b"]}, headers=operator
    )
    assert (moved.status_code, moved.json()["code"]) == (409, "product_has_orders")
    fresh = _product(client, operator, "NEW-SKU", merchant_id=world["shop_a"])
    ok = client.patch(
        f"/api/v1/products/{fresh['id']}", json={"merchant_id": world["shop_b"]}, headers=operator
    )
    assert _ok(ok, 200)["merchant_id"] == world["shop_b"]
    by_merchant = client.patch(
        f"/api/v1/products/{world['a_product']}", json={"merchant_id": None}, headers=world["a"]
    )
    assert (by_merchant.status_code, by_merchant.json()["code"]) == (403, "merchant_move")


def test_a_deleted_merchants_tokens_stop_at_once(
    client: TestClient, operator: dict[str, str], world: dict[str, Any]
) -> None:
    assert client.get("/api/v1/me", headers=world["b"]).status_code == 200
    _ok(client.delete(f"/api/v1/merchants/{world['shop_b']}", headers=operator), 200)
    gone = client.get("/api/v1/me", headers=world["b"])
    assert (gone.status_code, gone.json()["code"]) == (401, "invalid_token")


def test_bad_ranges_are_refused(client: TestClient, world: dict[str, Any]) -> None:
    backwards = client.get(
        f"/api/v1/merchants/{world['shop_a']}/sales?from=2026-03-31&to=2026-03-01", headers=world["a"]
    )
    assert (backwards.status_code, backwards.json()["code"]) == (422, "invalid_range")


def test_a_merchant_publishes_campaigns_of_its_own_skus_only(
    client: TestClient, operator: dict[str, str], world: dict[str, Any]
) -> None:
    body = {
        "program_id": world["program"],
        "name": "店铺上新",
        "skus": ["A-SKU"],
        "starts_at": "2099-03-01T00:00:00+08:00",
        "ends_at": "2099-04-01T00:00:00+08:00",
    }
    own = _ok(client.post("/api/v1/campaigns", json=body, headers=world["a"]))
    assert own["merchant_id"] == world["shop_a"]
    for sku in ("B-SKU", "PLATFORM-SKU"):
        other = client.post("/api/v1/campaigns", json={**body, "skus": [sku]}, headers=world["a"])
        assert (other.status_code, other.json()["code"]) == (404, "product_not_found"), sku
    assert [c["id"] for c in client.get("/api/v1/campaigns", headers=world["a"]).json()] == [own["id"]]
    assert client.get("/api/v1/campaigns", headers=world["b"]).json() == []
    hidden = client.get(f"/api/v1/campaigns/{own['id']}", headers=world["b"])
    assert (hidden.status_code, hidden.json()["code"]) == (404, "campaign_not_found")
    operators = client.get("/api/v1/campaigns", headers=operator).json()
    assert [c["merchant_id"] for c in operators] == [world["shop_a"]]


def _rows(client: TestClient, headers: dict[str, str], merchant_id: int, by: str) -> Any:
    path = f"/api/v1/merchants/{merchant_id}/sales?from=2026-03-01&to=2026-03-31&by={by}"
    return _ok(client.get(path, headers=headers), 200)


def test_sales_by_day_group_and_program(
    client: TestClient, operator: dict[str, str], world: dict[str, Any]
) -> None:
    # 23:30 in Shanghai on 20 March (15:30 UTC): the same day as O-2. Two at ¥10 list, paid ¥15: a
    # discount the shop gave on its own, no coupon's or promotion's.
    two = [{"sku": "A-SKU", "quantity": 2, "paid_fen": 1500}]
    _order(client, operator, world["program"], "O-5", items=two, paid_at="2026-03-20T23:30:00+08:00")
    by_day = _rows(client, world["a"], world["shop_a"], "day")
    assert (by_day["orders"], by_day["gmv_fen"], by_day["coupon_cost_fen"]) == (3, 5500, 0)
    assert by_day["promotion_discount_fen"] == 0
    assert by_day["rows"] == [
        {
            "key": "2026-03-10",
            "orders": 1,
            "gmv_fen": 3000,
            "refund_fen": 600,
            "commission_fen": 60,
            "coupon_cost_fen": 0,
            "promotion_discount_fen": 0,
        },
        {
            "key": "2026-03-20",
            "orders": 2,
            "gmv_fen": 2500,
            "refund_fen": 0,
            "commission_fen": 0,
            "coupon_cost_fen": 0,
            "promotion_discount_fen": 0,
        },
    ]
    by_program = _rows(client, operator, world["shop_a"], "program")
    assert [(r["key"], r["orders"], r["gmv_fen"]) for r in by_program["rows"]] == [
        (str(world["program"]), 3, 5500)
    ]
    by_group = _rows(client, world["a"], world["shop_a"], "group")
    assert [(r["key"], r["orders"], r["commission_fen"]) for r in by_group["rows"]] == [(None, 3, 60)]
    assert "customer" not in str(by_day)


def test_coupon_cost_and_promotion_discounts_are_separate_figures(
    client: TestClient, operator: dict[str, str], world: dict[str, Any]
) -> None:
    coupon = _ok(client.post("/api/v1/coupons", json={**COUPON, "skus": ["A-SKU"]}, headers=world["a"]))
    _ok(client.post("/api/v1/promotions", json={**_promotion(), "skus": ["A-SKU"]}, headers=world["a"]))
    seller = client.get(f"/api/v1/programs/{world['program']}/members", headers=operator).json()[-1]["id"]
    link = _ok(
        client.post(
            "/api/v1/links",
            json={"member_id": seller, "sku": "A-SKU", "coupon_id": coupon["id"]},
            headers=operator,
        )
    )
    # A's ¥10 line: ¥0.10 off by the promotion, then ¥1 by the link's coupon; B's line has neither.
    items = [
        {"sku": "A-SKU", "quantity": 1, "paid_fen": 890},
        {"sku": "B-SKU", "quantity": 1, "paid_fen": 2000},
    ]
    _order(
        client,
        operator,
        world["program"],
        "O-6",
        items=items,
        link_code=link["code"],
        paid_at="2026-03-25T10:00:00+08:00",
    )
    a = _rows(client, world["a"], world["shop_a"], "day")
    assert (a["gmv_fen"], a["coupon_cost_fen"], a["promotion_discount_fen"]) == (4890, 100, 10)
    assert [(r["key"], r["coupon_cost_fen"], r["promotion_discount_fen"]) for r in a["rows"]] == [
        ("2026-03-10", 0, 0),
        ("2026-03-20", 0, 0),
        ("2026-03-25", 100, 10),
    ]
    b = _ok(_sales(client, operator, world["shop_b"]), 200)
    assert (b["coupon_cost_fen"], b["promotion_discount_fen"]) == (0, 0)


def test_a_breakdowns_totals_are_its_rows_sums_from_one_pass(
    client: TestClient, world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    figures = (
        "orders",
        "gmv_fen",
        "refund_fen",
        "commission_fen",
        "coupon_cost_fen",
        "promotion_discount_fen",
    )
    whole = _ok(_sales(client, world["a"], world["shop_a"]), 200)
    assert whole["gmv_fen"] > 0
    assert whole["rows"] == []
    passes: list[object] = []

    def counted(*args: Any, **kwargs: Any) -> Any:
        passes.append(kwargs.get("by"))
        return merchant_sales_by(*args, **kwargs)

    monkeypatch.setattr(sales, "merchant_sales_by", counted)
    for by in ("day", "group", "program"):
        passes.clear()
        broken_down = _rows(client, world["a"], world["shop_a"], by)
        assert passes == [by], "one pass over the lines, not a second one for the totals"
        assert {f: broken_down[f] for f in figures} == {f: whole[f] for f in figures}, by
        assert {f: sum(r[f] for r in broken_down["rows"]) for f in figures} == {f: whole[f] for f in figures}


def test_sales_export_as_a_workbook(client: TestClient, world: dict[str, Any]) -> None:
    path = "/api/v1/merchants/{}/sales.xlsx?from=2026-03-01&to=2026-03-31&by=day"
    answer = client.get(path.format(world["shop_a"]), headers=world["a"])
    assert answer.status_code == 200, answer.text
    sheet = load_workbook(io.BytesIO(answer.content)).active
    assert sheet is not None
    assert [list(r) for r in sheet.iter_rows(values_only=True)] == [
        [
            "key",
            "orders",
            "gmv_fen",
            "refund_fen",
            "commission_fen",
            "coupon_cost_fen",
            "promotion_discount_fen",
        ],
        ["2026-03-10", 1, 3000, 600, 60, 0, 0],
        ["2026-03-20", 1, 1000, 0, 0, 0, 0],
        ["total", 2, 4000, 600, 60, 0, 0],
    ]
    other = client.get(path.format(world["shop_b"]), headers=world["a"])
    assert (other.status_code, other.json()["code"]) == (404, "merchant_not_found")


def test_every_merchant_write_is_audited_as_the_merchant(
    client: TestClient, world: dict[str, Any], factory: sessionmaker[Session]
) -> None:
    made = _product(client, world["a"], "A-NEW")
    _ok(client.patch(f"/api/v1/products/{made['id']}", json={"price_fen": 900}, headers=world["a"]), 200)
    _ok(client.post("/api/v1/coupons", json={**COUPON, "skus": ["A-NEW"]}, headers=world["a"]))
    _ok(client.post("/api/v1/promotions", json={**_promotion(), "skus": ["A-NEW"]}, headers=world["a"]))
    campaign = {
        "program_id": world["program"],
        "name": "新品",
        "skus": ["A-NEW"],
        "starts_at": "2099-03-01T00:00:00+08:00",
        "ends_at": "2099-04-01T00:00:00+08:00",
    }
    _ok(client.post("/api/v1/campaigns", json=campaign, headers=world["a"]))
    with factory() as session:
        rows = session.execute(
            select(AuditEntry.action, AuditEntry.actor_kind).order_by(AuditEntry.id.desc()).limit(5)
        ).all()
    assert sorted(rows) == [
        ("campaign.create", "merchant"),
        ("coupon.create", "merchant"),
        ("product.create", "merchant"),
        ("product.update", "merchant"),
        ("promotion.create", "merchant"),
    ]
