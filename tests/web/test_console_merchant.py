"""The merchant portal of the console: a merchant's account lands on its own shop, sees its own
products, coupons, promotions and sales only, and nothing of the operators' console; its session
stops at once when the merchant is deleted. The operators' review queue approves its changes."""

from __future__ import annotations

import io
import re
from typing import Any

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth import service as auth
from neigou.auth.models import Role
from neigou.kit.db import transaction
from tests.conftest import TEST_ACTOR, TokenMaker, bearer
from tests.factories import create_program
from tests.pages import refusal_code
from tests.sign_in import PASSWORD, console_sign_in, merchant_sign_in

PRODUCT = {"title": "店品", "price_fen": 1000, "commission_rate_bp": 1000}


def _shop(client: TestClient, operator: dict[str, str], code: str, **extra: Any) -> int:
    made = client.post("/api/v1/merchants", json={"code": code, "name": code, **extra}, headers=operator)
    assert made.status_code == 201, made.text
    shop_id: int = made.json()["id"]
    return shop_id


def _world(client: TestClient, operator: dict[str, str]) -> tuple[int, int, dict[str, Any]]:
    program = create_program(client, operator, code="portal")
    mine, theirs = _shop(client, operator, "mine"), _shop(client, operator, "theirs")
    for sku, shop in (("MINE-1", mine), ("THEIRS-1", theirs)):
        made = client.post(
            "/api/v1/products", json={**PRODUCT, "sku": sku, "merchant_id": shop}, headers=operator
        )
        assert made.status_code == 201, made.text
    # ¥2 off the shop's ¥20 line: a promotion's discount, not a coupon's.
    promotion = {
        "name": "满减",
        "kind": "spend_threshold_off",
        "params": {"min_spend_fen": 100, "off_fen": 200},
        "skus": ["MINE-1"],
        "starts_at": "2026-01-01T00:00:00+08:00",
        "ends_at": "2027-01-01T00:00:00+08:00",
    }
    assert client.post("/api/v1/promotions", json=promotion, headers=operator).status_code == 201
    order = {
        "external_id": "P-1",
        "program_id": program["id"],
        "customer_ref": "13800000001",
        "paid_at": "2026-03-10T10:00:00+08:00",
        "items": [
            {"sku": "MINE-1", "quantity": 2, "paid_fen": 1800},
            {"sku": "THEIRS-1", "quantity": 1, "paid_fen": 1000},
        ],
    }
    assert client.post("/api/v1/orders", json=order, headers=operator).status_code == 201
    return mine, theirs, program


def test_a_merchant_sees_its_own_shop_only(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    mine, _theirs, _program = _world(client, operator)
    merchant_sign_in(client, factory, mine)
    home = client.get("/console/merchant")
    assert home.status_code == 200
    assert 'data-testid="count-products">1<' in home.text
    products = client.get("/console/merchant/products").text
    assert "MINE-1" in products
    assert "THEIRS-1" not in products
    sales = client.get("/console/merchant/sales?from=2026-03-01&to=2026-03-31&by=day")
    assert sales.status_code == 200
    rows = re.findall(r'data-testid="m-sales-row"><td>([^<]+)</td>', sales.text)
    assert rows == ["2026-03-10"]
    assert 'data-testid="total-gmv">¥18.00<' in sales.text
    assert 'data-testid="total-coupon-cost">¥0.00<' in sales.text
    assert 'data-testid="total-promotion-discount">¥2.00<' in sales.text  # ¥20 list, ¥18 paid
    assert "13800000001" not in sales.text
    assert "1380****" not in sales.text
    workbook = client.get("/console/merchant/sales.xlsx?from=2026-03-01&to=2026-03-31&by=day")
    sheet = load_workbook(io.BytesIO(workbook.content)).active
    assert sheet is not None
    assert list(sheet.iter_rows(values_only=True))[1] == ("2026-03-10", 1, 1800, 0, 0, 0, 200)
    assert 'data-testid="month-promotion-discount"' in home.text
    for page in (
        "/console",
        "/console/products",
        "/console/orders",
        "/console/withdrawals",
        "/console/audit",
    ):
        assert client.get(page, follow_redirects=False).status_code == 403, page
    bad = client.get("/console/merchant/sales?from=2026-03-31&to=2026-03-01")
    assert bad.status_code == 422
    assert 'data-code="invalid_range"' in bad.text


def test_a_sales_range_ending_on_the_first_day_of_the_calendar_is_refused_not_a_server_error(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    """Without ``from`` the range is the 30 days to ``to``; ``0001-01-01`` has no day before it."""
    mine = _shop(client, operator, "mine")
    merchant_sign_in(client, factory, mine)
    page = client.get("/console/merchant/sales?to=0001-01-01")
    assert page.status_code == 422
    assert 'data-code="date_out_of_range"' in page.text
    workbook = client.get("/console/merchant/sales.xlsx?to=0001-01-01")
    assert (workbook.status_code, refusal_code(workbook)) == (422, "date_out_of_range")


def test_a_merchant_adds_products_coupons_and_promotions_in_the_portal(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    mine, _theirs, _program = _world(client, operator)
    merchant_sign_in(client, factory, mine)
    added = client.post(
        "/console/merchant/products",
        data={"sku": "MINE-2", "title": "新品", "price_yuan": "19.90", "commission_percent": "12.5"},
    )
    assert added.status_code == 200
    assert "MINE-2" in added.text
    listed = client.get("/api/v1/products", headers=operator).json()
    new = next(p for p in listed if p["sku"] == "MINE-2")
    assert (new["merchant_id"], new["price_fen"], new["commission_rate_bp"]) == (mine, 1990, 1250)
    changed = client.post(
        f"/console/merchant/products/{new['id']}", data={"price_yuan": "18", "commission_percent": "15"}
    )
    assert changed.status_code == 200
    again = client.get(f"/api/v1/products/{new['id']}", headers=operator).json()
    assert (again["price_fen"], again["commission_rate_bp"]) == (1800, 1500)
    coupon = {
        "name": "群专享券",
        "kind": "amount_off",
        "value": "5",
        "visibility": "hidden",
        "skus": "MINE-2",
        "total_quantity": "100",
        "per_customer_limit": "1",
        "starts_at": "2026-03-01T00:00",
        "ends_at": "2026-04-01T00:00",
    }
    made = client.post("/console/merchant/coupons/new", data=coupon)
    assert made.status_code == 200
    assert "群专享券" in made.text
    theirs = client.post("/console/merchant/coupons/new", data={**coupon, "skus": "THEIRS-1"})
    assert theirs.status_code == 422
    assert 'data-code="product_not_found"' in theirs.text
    promotion = {
        "name": "满50减5",
        "kind": "spend_threshold_off",
        "min_spend_yuan": "50",
        "off_yuan": "5",
        "skus": "MINE-2",
        "starts_at": "2026-03-01T00:00",
        "ends_at": "2026-04-01T00:00",
    }
    assert "满50减5" in client.post("/console/merchant/promotions/new", data=promotion).text


def test_the_review_queue_holds_and_approves_a_merchants_rate(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    brand = client.post(
        "/api/v1/organizations", json={"code": "brand", "name": "品牌"}, headers=operator
    ).json()
    shop = _shop(client, operator, "brand-shop", organization_id=brand["id"])
    product = client.post(
        "/api/v1/products", json={**PRODUCT, "sku": "BRAND-1", "merchant_id": shop}, headers=operator
    ).json()
    with transaction(factory) as session:
        auth.create_user(
            session, username="brand-ops", password=PASSWORD, actor=TEST_ACTOR, organization_id=brand["id"]
        )
    sign_in = {"username": "brand-ops", "password": PASSWORD}
    assert client.post("/console/login", data=sign_in).status_code == 200
    assert client.post("/console/review-setting", data={"review_merchant_changes": "on"}).status_code == 200
    merchant_sign_in(client, factory, shop)
    held = client.post(
        f"/console/merchant/products/{product['id']}", data={"price_yuan": "10", "commission_percent": "30"}
    )
    assert 'data-testid="pending-rate"' in held.text
    assert 'data-testid="done"' in held.text
    assert client.post("/console/login", data=sign_in).status_code == 200
    queue = client.get("/console/reviews")
    assert "BRAND-1: 10% → 30%" in queue.text
    review_id = re.search(r'action="/console/reviews/(\d+)/approve"', queue.text)
    assert review_id is not None
    client.post(f"/console/reviews/{review_id.group(1)}/approve", data={"note": "ok"})
    assert (
        client.get(f"/api/v1/products/{product['id']}", headers=operator).json()["commission_rate_bp"] == 3000
    )


def test_a_deleted_merchants_console_session_stops_at_once(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    mine, _theirs, _program = _world(client, operator)
    merchant_sign_in(client, factory, mine)
    assert client.get("/console/merchant").status_code == 200
    assert client.delete(f"/api/v1/merchants/{mine}", headers=operator).status_code == 200
    gone = client.get("/console/merchant", follow_redirects=False)
    assert (gone.status_code, gone.headers["location"]) == (303, "/console/login?next=/console/merchant")


def test_an_operator_is_not_a_merchant(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    assert client.get("/console/merchant", follow_redirects=False).status_code == 303  # not signed in
    console_sign_in(client, factory)
    assert client.get("/console/merchant", follow_redirects=False).status_code == 403
    assert client.get("/console/reviews").status_code == 200


def test_a_deleted_organizations_merchant_stops_at_once(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], make_token: TokenMaker
) -> None:
    brand = client.post(
        "/api/v1/organizations", json={"code": "gone", "name": "将删"}, headers=operator
    ).json()
    shop = _shop(client, operator, "gone-shop", organization_id=brand["id"])
    token = bearer(make_token(Role.MERCHANT, merchant_id=shop))
    merchant_sign_in(client, factory, shop)
    assert client.get("/console/merchant").status_code == 200
    assert client.delete(f"/api/v1/organizations/{brand['id']}", headers=operator).status_code == 200
    gone = client.get("/console/merchant", follow_redirects=False)
    assert (gone.status_code, gone.headers["location"]) == (303, "/console/login?next=/console/merchant")
    refused = client.get("/api/v1/products", headers=token)
    assert (refused.status_code, refused.json()["code"]) == (401, "invalid_token")


def test_a_platform_administrator_has_no_review_switch_to_flip(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    anonymous = client.post("/console/review-setting", data={"review_merchant_changes": "on"})
    assert anonymous.status_code in {200, 303}
    assert "/console/login" in str(anonymous.url)
    console_sign_in(client, factory)  # an account of no organization
    page = client.get("/console/reviews")
    assert 'data-testid="review-setting"' not in page.text
    refused = client.post(
        "/console/review-setting", data={"review_merchant_changes": "on"}, follow_redirects=False
    )
    assert refused.status_code == 409
    assert refusal_code(refused) == "no_organization"
    organizations = client.get("/api/v1/organizations", headers=operator).json()
    assert not any(o["review_merchant_changes"] for o in organizations)


def test_a_price_above_the_largest_is_shown_on_the_products_form_not_a_server_error(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    """A price the amount parser takes but the schema refuses (above ``MAX_FEN``) comes back beside its
    field, in the reader's language, without quoting it, the product unchanged (it was a 500)."""
    mine, _theirs, _program = _world(client, operator)
    product = next(p for p in client.get("/api/v1/products", headers=operator).json() if p["sku"] == "MINE-1")
    merchant_sign_in(client, factory, mine)
    form = {"price_yuan": "99999999999", "commission_percent": "10"}
    refused = client.post(f"/console/merchant/products/{product['id']}", data=form)
    assert refused.status_code == 422
    assert 'data-testid="form-errors"' in refused.text
    assert "99999999999" not in refused.text
    assert "Field required" not in refused.text
    assert "less than or equal" not in refused.text
    for typed in ({**form, "price_yuan": ""}, {**form, "commission_percent": "abc"}):
        assert client.post(f"/console/merchant/products/{product['id']}", data=typed).status_code == 422
    again = client.get(f"/api/v1/products/{product['id']}", headers=operator).json()
    assert (again["price_fen"], again["commission_rate_bp"]) == (1000, 1000)
