"""Coupon templates and promotions through the API: validation, visibility of hidden coupons, shapes."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth.models import Role
from tests.conftest import TokenMaker, bearer, row_counts
from tests.offers.factories import CLOSES, OPENS, coupon, product, promotion

FAR = "2099-01-01T00:00:00Z"


def test_coupon_round_trip_keeps_stock_for_later_claims(client: TestClient, operator: dict[str, str]) -> None:
    product(client, operator, "LQ-SHAMPOO-500", 4990)
    created = coupon(
        client,
        operator,
        2500,
        name="澜泉洗发水 群内专享券",
        skus=["LQ-SHAMPOO-500", "LQ-SHAMPOO-500"],
        visibility="hidden",
        min_spend_fen=4900,
        total_quantity=500,
        per_customer_limit=2,
        starts_at="2026-03-20T00:00:00+08:00",
    )
    assert created["skus"] == ["LQ-SHAMPOO-500"]
    assert (created["claimed_quantity"], created["remaining_quantity"]) == (0, 500)
    assert created["starts_at"] == "2026-03-19T16:00:00Z"
    assert (created["kind"], created["value"], created["visibility"]) == ("amount_off", 2500, "hidden")
    assert client.get(f"/api/v1/coupons/{created['id']}", headers=operator).json() == created


@pytest.mark.parametrize(
    ("terms", "code"),
    [
        ({"kind": "percent_off", "value": 10001}, "invalid_percent"),
        ({"kind": "amount_off", "value": 500, "cap_fen": 100}, "cap_not_allowed"),
        ({"ends_at": OPENS, "starts_at": CLOSES}, "invalid_window"),
        ({"skus": ["NOPE"]}, "unknown_sku"),
        ({"starts_at": "2026-03-20T00:00:00"}, "validation_error"),
        ({"kind": "cash_back"}, "validation_error"),
        ({"value": 0}, "validation_error"),
        ({"total_quantity": 0}, "validation_error"),
        ({"visibility": "secret"}, "validation_error"),
    ],
)
def test_coupon_refusals_write_nothing(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    terms: dict[str, Any],
    code: str,
) -> None:
    body = {
        "name": "bad",
        "skus": None,
        "kind": "amount_off",
        "value": 500,
        "min_spend_fen": 0,
        "visibility": "public",
        "total_quantity": 10,
        "per_customer_limit": 1,
        "starts_at": OPENS,
        "ends_at": CLOSES,
        **terms,
    }
    before = row_counts(factory)
    response = client.post("/api/v1/coupons", json=body, headers=operator)
    assert (response.status_code, response.json()["code"]) == (422, code)
    assert row_counts(factory) == before


def test_hidden_coupons_are_seen_by_operators_only(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker
) -> None:
    public = coupon(client, operator, 500, name="新人立减5元", ends_at=FAR)
    hidden = coupon(client, operator, 2500, name="群内专享券", visibility="hidden", ends_at=FAR)
    member_id = _a_member(client, operator)
    others = [bearer(make_token(Role.INTEGRATION)), bearer(make_token(Role.MEMBER, member_id))]

    def ids(headers: dict[str, str], query: str = "") -> list[int]:
        response = client.get(f"/api/v1/coupons{query}", headers=headers)
        assert response.status_code == 200, response.text
        return [c["id"] for c in response.json()]

    assert ids(operator) == [hidden["id"], public["id"]]
    assert ids(operator, "?visibility=hidden") == [hidden["id"]]
    for headers in others:
        assert ids(headers) == [public["id"]]
        assert ids(headers, "?visibility=hidden") == []
        unseen = client.get(f"/api/v1/coupons/{hidden['id']}", headers=headers)
        assert (unseen.status_code, unseen.json()["code"]) == (404, "coupon_not_found")
        assert client.get(f"/api/v1/coupons/{public['id']}", headers=headers).status_code == 200


def test_active_filter(client: TestClient, operator: dict[str, str]) -> None:
    coupon(
        client,
        operator,
        100,
        name="long ago",
        starts_at="2020-01-01T00:00:00Z",
        ends_at="2020-02-01T00:00:00Z",
    )
    current = coupon(client, operator, 200, starts_at="2020-01-01T00:00:00Z", ends_at="2099-01-01T00:00:00Z")
    assert [c["id"] for c in client.get("/api/v1/coupons?active=true", headers=operator).json()] == [
        current["id"]
    ]
    promotion(
        client,
        operator,
        {"kind": "spend_threshold_off", "params": {"min_spend_fen": 10000, "off_fen": 1000}},
        starts_at="2020-01-01T00:00:00Z",
        ends_at="2020-02-01T00:00:00Z",
    )
    assert client.get("/api/v1/promotions?active=true", headers=operator).json() == []
    assert len(client.get("/api/v1/promotions", headers=operator).json()) == 1


def test_members_list_no_paused_or_ended_coupons(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker
) -> None:
    running = coupon(client, operator, 100, name="running", ends_at=FAR)
    upcoming = coupon(client, operator, 150, name="upcoming", starts_at="2098-01-01T00:00:00Z", ends_at=FAR)
    paused = coupon(client, operator, 200, name="paused", ends_at=FAR)
    ended = coupon(client, operator, 300, name="ended", ends_at=FAR)
    for made, state in ((paused, "paused"), (ended, "ended")):
        changed = client.patch(f"/api/v1/coupons/{made['id']}", json={"status": state}, headers=operator)
        assert changed.status_code == 200, changed.text
    member = bearer(make_token(Role.MEMBER, _a_member(client, operator)))
    for headers in (member, bearer(make_token(Role.INTEGRATION))):
        listed = client.get("/api/v1/coupons", headers=headers)
        assert [c["id"] for c in listed.json()] == [upcoming["id"], running["id"]]
        assert listed.headers["x-total-count"] == "2"
    seen = {c["id"]: c["paused"] for c in client.get("/api/v1/coupons", headers=operator).json()}
    assert seen == {ended["id"]: False, paused["id"]: True, upcoming["id"]: False, running["id"]: False}


def _a_member(client: TestClient, operator: dict[str, str]) -> int:
    program = client.post("/api/v1/programs", json={"code": "p", "name": "P"}, headers=operator).json()
    member = client.post(f"/api/v1/programs/{program['id']}/members", json={"name": "m"}, headers=operator)
    member_id: int = member.json()["id"]
    return member_id


@pytest.mark.parametrize(
    "shape",
    [
        {"kind": "quantity_discount", "params": {"min_quantity": 10, "pay_rate_bp": 1100}},
        {"kind": "quantity_discount", "min_quantity": 10, "pay_rate_bp": 1100},
        {"kind": {"quantity_discount": {"min_quantity": 10, "pay_rate_bp": 1100}}},
        {"kind": {"type": "quantity_discount", "min_quantity": 10, "pay_rate_bp": 1100}},
    ],
    ids=["params", "flat", "nested", "tagged"],
)
def test_promotion_kind_shapes(client: TestClient, operator: dict[str, str], shape: dict[str, Any]) -> None:
    product(client, operator, "YD-TEE", 5900)
    created = promotion(
        client, operator, shape, name="满10件1.1折", skus=["YD-TEE"], priority=5, exclusive=True
    )
    assert (created["kind"], created["params"]) == (
        "quantity_discount",
        {"min_quantity": 10, "pay_rate_bp": 1100},
    )
    assert (created["skus"], created["priority"], created["exclusive"]) == (["YD-TEE"], 5, True)
    assert client.get(f"/api/v1/promotions/{created['id']}", headers=operator).json() == created


def test_event_price_and_threshold_promotions(client: TestClient, operator: dict[str, str]) -> None:
    product(client, operator, "LQ-SHAMPOO-500", 4990)
    event = promotion(
        client, operator, {"kind": "event_price", "params": {"prices": {"LQ-SHAMPOO-500": 2990}}}
    )
    assert event["params"] == {"prices": {"LQ-SHAMPOO-500": 2990}}
    threshold = promotion(
        client, operator, {"kind": "spend_threshold_off", "min_spend_fen": 9900, "off_fen": 1000}
    )
    assert threshold["params"] == {"min_spend_fen": 9900, "off_fen": 1000}


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"kind": "quantity_discount", "params": {"min_spend_fen": 1, "off_fen": 1}}, "validation_error"),
        (
            {"kind": "quantity_discount", "params": {"min_quantity": 10, "pay_rate_bp": 10000}},
            "validation_error",
        ),
        ({"kind": "event_price", "params": {"prices": {"NOPE": 100}}}, "unknown_sku"),
        ({"kind": "event_price", "params": {"prices": {}}}, "validation_error"),
        (
            {"kind": "event_price", "params": {"prices": {"LQ-SHAMPOO-500": 100}}, "skus": ["YD-TEE"]},
            "price_out_of_scope",
        ),
        (
            {"kind": "spend_threshold_off", "params": {"min_spend_fen": 1, "off_fen": 1}, "ends_at": OPENS},
            "invalid_window",
        ),
        ({"kind": "buy_one_get_one", "params": {}}, "validation_error"),
    ],
)
def test_promotion_refusals_write_nothing(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    body: dict[str, Any],
    code: str,
) -> None:
    product(client, operator, "LQ-SHAMPOO-500", 4990)
    product(client, operator, "YD-TEE", 5900)
    before = row_counts(factory)
    full = {"name": "bad", "skus": None, "starts_at": OPENS, "ends_at": CLOSES, **body}
    response = client.post("/api/v1/promotions", json=full, headers=operator)
    assert (response.status_code, response.json()["code"]) == (422, code), response.text
    assert row_counts(factory) == before
    missing = client.get("/api/v1/promotions/424242", headers=operator)
    assert (missing.status_code, missing.json()["code"]) == (404, "promotion_not_found")
