"""The coupon and promotion edit forms of the console and of the merchant portal: values shown in yuan,
percent and the deployment's time zone, errors in place with the typed values kept, locked terms shown
as such, and a merchant's forms for its own offers only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.clock import utcnow
from tests.conftest import row_counts
from tests.sign_in import console_sign_in, merchant_sign_in

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _ok(response: Any, status: int = 201) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _window(starts: timedelta) -> dict[str, str]:
    now = utcnow().replace(second=0, microsecond=0)
    return {"starts_at": (now + starts).isoformat(), "ends_at": (now + timedelta(days=10)).isoformat()}


def _offers(
    client: TestClient,
    headers: dict[str, str],
    *,
    sku: str,
    starts: timedelta,
    merchant_id: int | None = None,
) -> tuple[int, int]:
    coupon = {
        "name": "九折券",
        "kind": "percent_off",
        "value": 1000,
        "cap_fen": 2000,
        "min_spend_fen": 9900,
        "skus": [sku],
        "total_quantity": 50,
        "merchant_id": merchant_id,
        **_window(starts),
    }
    promotion = {
        "name": "满199减20",
        "kind": "spend_threshold_off",
        "params": {"min_spend_fen": 19900, "off_fen": 2000},
        "skus": [sku],
        "merchant_id": merchant_id,
        **_window(starts),
    }
    made = _ok(client.post("/api/v1/coupons", json=coupon, headers=headers))
    return made["id"], _ok(client.post("/api/v1/promotions", json=promotion, headers=headers))["id"]


def _local(moment: datetime) -> str:
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M")


def test_the_console_edits_a_coupon_and_a_promotion(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    sku = {"sku": "ED-1", "title": "店品", "price_fen": 30000, "commission_rate_bp": 1000}
    _ok(client.post("/api/v1/products", json=sku, headers=operator))
    coupon_id, promotion_id = _offers(client, operator, sku="ED-1", starts=timedelta(days=1))
    console_sign_in(client, factory)
    listing = client.get("/console/coupons").text
    assert f'href="/console/coupons/{coupon_id}/edit"' in listing
    assert f'href="/console/promotions/{promotion_id}/edit"' in client.get("/console/promotions").text

    page = client.get(f"/console/coupons/{coupon_id}/edit")
    assert page.status_code == 200
    for shown in (
        'name="value" value="10"',
        'name="cap_yuan" value="20.00"',
        'name="min_spend_yuan" value="99.00"',
    ):
        assert shown in page.text
    coupon = _ok(client.get(f"/api/v1/coupons/{coupon_id}", headers=operator), 200)
    ends = _local(datetime.fromisoformat(coupon["ends_at"]))
    assert f'name="ends_at" type="datetime-local" value="{ends}"' in page.text

    form = {
        "name": "八五折券",
        "status": "paused",
        "total_quantity": "80",
        "value": "15",
        "cap_yuan": "30",
        "min_spend_yuan": "120.50",
        "visibility": "hidden",
        "ends_at": "2099-01-31T20:00",
    }
    before = row_counts(factory)
    bad = client.post(f"/console/coupons/{coupon_id}/edit", data={**form, "value": "abc", "ends_at": "soon"})
    assert bad.status_code == 422
    assert 'data-testid="error-value"' in bad.text
    assert 'data-testid="error-ends_at"' in bad.text
    assert 'name="value" value="abc"' in bad.text
    assert 'name="name" value="八五折券"' in bad.text
    assert row_counts(factory) == before
    saved = client.post(f"/console/coupons/{coupon_id}/edit", data=form, follow_redirects=False)
    assert (saved.status_code, saved.headers["location"]) == (303, "/console/coupons")
    coupon = _ok(client.get(f"/api/v1/coupons/{coupon_id}", headers=operator), 200)
    assert (coupon["name"], coupon["value"], coupon["cap_fen"], coupon["min_spend_fen"]) == (
        "八五折券",
        1500,
        3000,
        12050,
    )
    assert (coupon["visibility"], coupon["paused"], coupon["total_quantity"]) == ("hidden", True, 80)
    assert datetime.fromisoformat(coupon["ends_at"]) == datetime(2099, 1, 31, 12, 0, tzinfo=UTC)
    assert 'data-testid="paused"' in client.get("/console/coupons").text

    promo_page = client.get(f"/console/promotions/{promotion_id}/edit").text
    assert 'name="min_spend_yuan" value="199.00"' in promo_page
    assert 'name="off_yuan" value="20.00"' in promo_page
    refused = client.post(
        f"/console/promotions/{promotion_id}/edit",
        data={
            "name": "满299减30",
            "status": "active",
            "min_spend_yuan": "299",
            "off_yuan": "30",
            "ends_at": "2000-01-01T00:00",
        },
    )
    assert (refused.status_code, 'data-code="ends_in_past"' in refused.text) == (422, True)
    assert 'name="min_spend_yuan" value="299"' in refused.text
    kept_end = _local(utcnow() + timedelta(days=20))
    done = client.post(
        f"/console/promotions/{promotion_id}/edit",
        data={
            "name": "满299减30",
            "status": "active",
            "min_spend_yuan": "299",
            "off_yuan": "30",
            "ends_at": kept_end,
        },
        follow_redirects=False,
    )
    assert done.status_code == 303
    promotion = _ok(client.get(f"/api/v1/promotions/{promotion_id}", headers=operator), 200)
    assert (promotion["name"], promotion["params"]) == (
        "满299减30",
        {"min_spend_fen": 29900, "off_fen": 3000},
    )


def test_a_merchant_edits_its_own_offers_and_sees_locked_terms(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    shops = [
        _ok(client.post("/api/v1/merchants", json={"code": c, "name": c}, headers=operator))["id"]
        for c in ("m1", "m2")
    ]
    for sku, shop in (("M1-SKU", shops[0]), ("M2-SKU", shops[1])):
        body = {"sku": sku, "title": sku, "price_fen": 30000, "commission_rate_bp": 1000, "merchant_id": shop}
        _ok(client.post("/api/v1/products", json=body, headers=operator))
    mine = _offers(client, operator, sku="M1-SKU", starts=timedelta(days=-1), merchant_id=shops[0])
    theirs = _offers(client, operator, sku="M2-SKU", starts=timedelta(days=-1), merchant_id=shops[1])
    claim = client.post(
        f"/api/v1/coupons/{mine[0]}/claims", json={"customer_ref": "13800000001"}, headers=operator
    )
    _ok(claim)
    merchant_sign_in(client, factory, shops[0])
    assert f'href="/console/merchant/coupons/{mine[0]}/edit"' in client.get("/console/merchant/coupons").text
    assert client.get(f"/console/merchant/coupons/{theirs[0]}/edit").status_code == 404
    assert client.get(f"/console/merchant/promotions/{theirs[1]}/edit").status_code == 404
    page = client.get(f"/console/merchant/coupons/{mine[0]}/edit").text
    assert 'data-testid="terms-locked"' in page
    assert 'name="value" value="10" inputmode="decimal" required disabled' in page
    low = client.post(
        f"/console/merchant/coupons/{mine[0]}/edit",
        data={
            "name": "九折券",
            "status": "active",
            "total_quantity": "0",
            "ends_at": _local(utcnow() + timedelta(days=3)),
        },
    )
    assert low.status_code == 422
    assert 'data-testid="error-total_quantity"' in low.text
    none_left = client.post(
        f"/console/merchant/coupons/{mine[0]}/edit",
        data={
            "name": "九折券",
            "status": "ended",
            "total_quantity": "1",
            "ends_at": _local(utcnow() + timedelta(days=3)),
        },
        follow_redirects=False,
    )
    assert none_left.headers["location"] == "/console/merchant/coupons"
    coupon = _ok(client.get(f"/api/v1/coupons/{mine[0]}", headers=operator), 200)
    assert (coupon["total_quantity"], coupon["value"]) == (1, 1000)
    assert datetime.fromisoformat(coupon["ends_at"]) <= utcnow()
    promo = client.get(f"/console/merchant/promotions/{mine[1]}/edit").text
    assert 'data-testid="terms-locked"' in promo
    paused = client.post(
        f"/console/merchant/promotions/{mine[1]}/edit",
        data={"name": "满199减20", "status": "paused", "ends_at": _local(utcnow() + timedelta(days=5))},
        follow_redirects=False,
    )
    assert paused.status_code == 303
    assert _ok(client.get(f"/api/v1/promotions/{mine[1]}", headers=operator), 200)["paused"] is True
    other = client.post(f"/console/merchant/promotions/{theirs[1]}/edit", data={"name": "x"})
    assert other.status_code == 404
