"""Quotes through the API and the service, with exact fen: promotions, then coupons, hidden via links."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth.models import Role
from neigou.offers.quote_schemas import QuoteItem
from neigou.offers.quotes import price_quote
from tests.conftest import TokenMaker, bearer, row_counts
from tests.offers.factories import NOW, coupon, garments, product, promotion, quote

SHAMPOO = "LQ-SHAMPOO-500"
QUANTITY_DISCOUNT = {"kind": "quantity_discount", "params": {"min_quantity": 10, "pay_rate_bp": 1100}}


def totals(body: dict[str, Any]) -> tuple[int, int, int, int]:
    return (
        body["list_total_fen"],
        body["promotion_discount_fen"],
        body["coupon_discount_fen"],
        body["payable_fen"],
    )


def refusals(body: dict[str, Any]) -> dict[int, str]:
    return {r["id"]: r["reason"] for r in body["refused"]}


def test_hidden_coupon_needs_its_link(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    product(client, operator, SHAMPOO, 4990, title="澜泉 氨基酸控油洗发水 500ml")
    hidden = coupon(client, operator, 2500, name="群内专享券", visibility="hidden", skus=[SHAMPOO])
    public = quote(client, operator, [(SHAMPOO, 1)], coupon_ids=[hidden["id"]])
    assert totals(public) == (4990, 0, 0, 4990)
    assert refusals(public) == {hidden["id"]: "link_required"}
    assert public["lines"][0]["title"] == "澜泉 氨基酸控油洗发水 500ml"

    with factory() as session:
        via_link = price_quote(
            session,
            organization_id=None,
            items=[QuoteItem(sku=SHAMPOO, quantity=1)],
            at=NOW,
            link_coupon_ids=[str(hidden["id"])],
        )
    body = via_link.response.model_dump(mode="json")
    assert totals(body) == (4990, 0, 2500, 2490)
    assert body["applied"][0]["id"] == hidden["id"]
    assert body["applied"][0]["terms"]["visibility"] == "hidden"
    assert body["refused"] == []


def test_snapshot_is_what_the_response_shows(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    garments(client, operator)
    promo = promotion(client, operator, QUANTITY_DISCOUNT, name="衣朵 满10件1.1折")
    with factory() as session:
        result = price_quote(
            session, organization_id=None, items=[QuoteItem(sku="YD-TEE", quantity=10)], at=NOW
        )
    assert result.snapshot == result.basket.to_snapshot()
    snapshot = json.loads(json.dumps(result.snapshot))
    response = result.response.model_dump(mode="json")
    for key in ("list_total_fen", "promotion_discount_fen", "coupon_discount_fen", "payable_fen"):
        assert snapshot[key] == response[key]
    assert snapshot["applied"] == response["applied"]
    assert snapshot["applied"][0]["id"] == promo["id"]
    assert snapshot["applied"][0]["terms"] == {"min_quantity": 10, "pay_rate_bp": 1100}
    assert [line["payable_fen"] for line in snapshot["lines"]] == [
        line["payable_fen"] for line in response["lines"]
    ]


def test_ten_garments_at_eleven_percent(client: TestClient, operator: dict[str, str]) -> None:
    garments(client, operator)
    promo = promotion(
        client, operator, QUANTITY_DISCOUNT, name="衣朵 满10件1.1折", skus=["YD-TEE", "YD-JEANS", "YD-HOODIE"]
    )
    ten_tees = quote(client, operator, [("YD-TEE", 10)])
    # 59000 × 11% = 6490 to pay.
    assert totals(ten_tees) == (59000, 52510, 0, 6490)
    mixed = quote(client, operator, [("YD-TEE", 4), ("YD-JEANS", 3), ("YD-HOODIE", 3)])
    # 92000 × 1100 / 10000 = 10120 to pay; 81880 off, spread in proportion (exact here: 89% of each line).
    assert totals(mixed) == (92000, 81880, 0, 10120)
    assert [
        (line["sku"], line["promotion_discount_fen"], line["payable_fen"]) for line in mixed["lines"]
    ] == [
        ("YD-TEE", 21004, 2596),
        ("YD-JEANS", 34443, 4257),
        ("YD-HOODIE", 26433, 3267),
    ]
    assert mixed["applied"][0]["per_line"] == [[0, 21004], [1, 34443], [2, 26433]]
    nine = quote(client, operator, [("YD-TEE", 5), ("YD-JEANS", 4)])
    assert totals(nine) == (81100, 0, 0, 81100)
    assert refusals(nine) == {promo["id"]: "condition_not_met"}


def test_coupon_larger_than_the_price_stops_at_zero(client: TestClient, operator: dict[str, str]) -> None:
    product(client, operator, "TISSUE", 1990)
    big = coupon(client, operator, 3000)
    body = quote(client, operator, [("TISSUE", 1)], coupon_ids=[big["id"]])
    assert totals(body) == (1990, 0, 1990, 0)
    assert body["applied"][0]["amount_fen"] == 1990


def test_percent_coupon_with_cap(client: TestClient, operator: dict[str, str]) -> None:
    product(client, operator, "COAT", 25900)
    product(client, operator, "SCARF", 9900)
    ten_off = coupon(client, operator, 1000, kind="percent_off", cap_fen=2000)
    capped = quote(client, operator, [("COAT", 1)], coupon_ids=[ten_off["id"]])
    assert totals(capped) == (25900, 0, 2000, 23900)  # 2590 capped at 2000
    under = quote(client, operator, [("SCARF", 1)], coupon_ids=[ten_off["id"]])
    assert totals(under) == (9900, 0, 990, 8910)


def test_expired_and_future_coupons_are_refused(client: TestClient, operator: dict[str, str]) -> None:
    product(client, operator, "TISSUE", 1990)
    expired = coupon(client, operator, 500, starts_at="2026-01-01T00:00:00Z", ends_at="2026-03-24T12:00:00Z")
    future = coupon(client, operator, 500, starts_at="2026-03-24T12:00:01Z", ends_at="2026-04-01T00:00:00Z")
    body = quote(client, operator, [("TISSUE", 2)], coupon_ids=[expired["id"], future["id"]])
    assert totals(body) == (3980, 0, 0, 3980)
    assert refusals(body) == {expired["id"]: "not_active", future["id"]: "not_active"}


def test_min_spend_just_missed_after_the_promotion(client: TestClient, operator: dict[str, str]) -> None:
    product(client, operator, "RICE", 10000)
    promotion(
        client, operator, {"kind": "spend_threshold_off", "params": {"min_spend_fen": 10000, "off_fen": 100}}
    )
    threshold = coupon(client, operator, 1000, min_spend_fen=10000)
    body = quote(client, operator, [("RICE", 1)], coupon_ids=[threshold["id"]])
    assert totals(body) == (10000, 100, 0, 9900)
    assert refusals(body) == {threshold["id"]: "min_spend_not_met"}
    met = quote(client, operator, [("RICE", 2)], coupon_ids=[threshold["id"]])
    assert totals(met) == (20000, 100, 1000, 18900)


def test_several_lines_with_odd_amounts_add_up(client: TestClient, operator: dict[str, str]) -> None:
    product(client, operator, "ODD-A", 333)
    product(client, operator, "ODD-B", 1)
    product(client, operator, "ODD-C", 12345)
    thousand = coupon(client, operator, 1000)
    fifteen = coupon(client, operator, 1500, kind="percent_off")
    body = quote(
        client,
        operator,
        [("ODD-C", 1), ("ODD-A", 3), ("ODD-B", 7)],
        coupon_ids=[thousand["id"], fifteen["id"]],
    )
    # 1000 over 999/7/12345 by largest remainder → 75/0/925; then 15% of 12351 = 1852 → 139/1/1712.
    assert totals(body) == (13351, 0, 2852, 10499)
    assert [(line["sku"], line["coupon_discount_fen"], line["payable_fen"]) for line in body["lines"]] == [
        ("ODD-C", 2637, 9708),
        ("ODD-A", 214, 785),
        ("ODD-B", 1, 6),
    ]
    assert sum(line["payable_fen"] for line in body["lines"]) == body["payable_fen"]


def test_event_price_for_the_live_event(client: TestClient, operator: dict[str, str]) -> None:
    product(client, operator, SHAMPOO, 4990)
    product(client, operator, "TISSUE", 1990)
    promotion(client, operator, {"kind": "event_price", "params": {"prices": {SHAMPOO: 2990}}}, name="内购会")
    out_of_scope = promotion(client, operator, QUANTITY_DISCOUNT, skus=["TISSUE"])
    body = quote(client, operator, [(SHAMPOO, 2)])
    assert totals(body) == (9980, 4000, 0, 5980)
    # A promotion on skus the basket does not hold is not news to the shopper.
    assert out_of_scope["id"] not in refusals(body)


def test_members_and_integrations_may_quote_and_nothing_is_written(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    product(client, operator, SHAMPOO, 4990)
    program = client.post("/api/v1/programs", json={"code": "p", "name": "P"}, headers=operator).json()
    member = client.post(
        f"/api/v1/programs/{program['id']}/members", json={"name": "m"}, headers=operator
    ).json()
    callers = (bearer(make_token(Role.MEMBER, member["id"])), bearer(make_token(Role.INTEGRATION)))
    before = row_counts(factory)
    for headers in callers:
        assert quote(client, headers, [(SHAMPOO, 1)], customer_ref="openid-1")["payable_fen"] == 4990
    assert row_counts(factory) == before


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"items": [{"sku": "NOPE", "quantity": 1}]}, 422, "unknown_sku"),
        ({"items": [{"sku": SHAMPOO, "quantity": 1}], "coupon_ids": [424242]}, 422, "unknown_coupon"),
        ({"items": [{"sku": SHAMPOO, "quantity": 0}]}, 422, "validation_error"),
        ({"items": []}, 422, "validation_error"),
        ({"items": [{"sku": SHAMPOO, "quantity": 1}], "at": "2026-03-24T12:00:00"}, 422, "validation_error"),
        ({"items": [{"sku": SHAMPOO, "quantity": 1}], "link_code": "abc"}, 422, "unknown_link"),
        ({"items": [{"sku": "OFF-SALE", "quantity": 1}]}, 422, "product_inactive"),
    ],
)
def test_quote_refusals(
    client: TestClient, operator: dict[str, str], body: dict[str, Any], status: int, code: str
) -> None:
    product(client, operator, SHAMPOO, 4990)
    product(client, operator, "OFF-SALE", 100, active=False)
    response = client.post("/api/v1/quotes", json=body, headers=operator)
    assert (response.status_code, response.json()["code"]) == (status, code), response.text
    assert response.headers["content-type"] == "application/problem+json"


def test_the_same_coupon_twice_is_refused(client: TestClient, operator: dict[str, str]) -> None:
    product(client, operator, SHAMPOO, 4990)
    five = coupon(client, operator, 500)
    response = client.post(
        "/api/v1/quotes",
        json={"items": [{"sku": SHAMPOO, "quantity": 1}], "coupon_ids": [five["id"], str(five["id"])]},
        headers=operator,
    )
    assert (response.status_code, response.json()["code"]) == (422, "duplicate_coupon")
    as_string = quote(client, operator, [(SHAMPOO, 1)], coupon_ids=[str(five["id"])])
    assert as_string["payable_fen"] == 4490


def test_coupons_combine_by_their_stacking_rule(client: TestClient, operator: dict[str, str]) -> None:
    """Three coupons asked for on one order: one per kind; an exclusive coupon applies alone."""
    product(client, operator, "COAT", 40000)
    first = coupon(client, operator, 3000)
    second = coupon(client, operator, 2000)
    percent = coupon(client, operator, 1000, kind="percent_off")
    assert (first["stacking"], percent["stacking"]) == ("combinable", "combinable")
    body = quote(client, operator, [("COAT", 1)], coupon_ids=[first["id"], second["id"], percent["id"]])
    assert refusals(body) == {second["id"]: "one_per_kind"}
    assert totals(body) == (40000, 0, 3000 + 3700, 40000 - 6700)

    alone = coupon(client, operator, 5000, stacking="exclusive")
    assert alone["stacking"] == "exclusive"
    body = quote(client, operator, [("COAT", 1)], coupon_ids=[alone["id"], percent["id"]])
    assert refusals(body) == {percent["id"]: "excluded_by_exclusive"}
    assert totals(body) == (40000, 0, 5000, 35000)
    refused = client.post(
        "/api/v1/coupons",
        json={
            "name": "x",
            "kind": "amount_off",
            "value": 100,
            "total_quantity": 1,
            "stacking": "sometimes",
            "starts_at": NOW.isoformat(),
            "ends_at": NOW.isoformat(),
        },
        headers=operator,
    )
    assert (refused.status_code, refused.json()["code"]) == (422, "validation_error")
