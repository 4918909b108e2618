"""Builders for offers API tests: products, coupons and promotions through the API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

NOW = datetime(2026, 3, 24, 12, 0, tzinfo=UTC)
OPENS = (NOW - timedelta(days=7)).isoformat()
CLOSES = (NOW + timedelta(days=7)).isoformat()
GARMENTS = {
    "YD-TEE": ("衣朵 纯棉圆领T恤", 5900),
    "YD-JEANS": ("衣朵 高腰直筒牛仔裤", 12900),
    "YD-HOODIE": ("衣朵 休闲连帽卫衣", 9900),
}


def post(client: TestClient, headers: dict[str, str], path: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST and insist on 201."""
    response = client.post(f"/api/v1/{path}", json=body, headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def product(
    client: TestClient,
    headers: dict[str, str],
    sku: str,
    price_fen: int,
    title: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A product at a list price, 20% commission unless told."""
    body = {"sku": sku, "title": title or sku, "price_fen": price_fen, "commission_rate_bp": 2000, **extra}
    return post(client, headers, "products", body)


def coupon(client: TestClient, headers: dict[str, str], value: int, **extra: Any) -> dict[str, Any]:
    """An amount_off coupon open around NOW, public unless told."""
    body = {
        "name": f"coupon {value}",
        "skus": None,
        "kind": "amount_off",
        "value": value,
        "min_spend_fen": 0,
        "visibility": "public",
        "total_quantity": 1000,
        "per_customer_limit": 1,
        "starts_at": OPENS,
        "ends_at": CLOSES,
        **extra,
    }
    return post(client, headers, "coupons", body)


def promotion(
    client: TestClient, headers: dict[str, str], kind: dict[str, Any], **extra: Any
) -> dict[str, Any]:
    """A promotion open around NOW; ``kind`` is {"kind": ..., "params": ...} or any accepted shape."""
    body = {"name": "promotion", "skus": None, "starts_at": OPENS, "ends_at": CLOSES, **kind, **extra}
    return post(client, headers, "promotions", body)


def quote(
    client: TestClient, headers: dict[str, str], items: list[tuple[str, int]], **extra: Any
) -> dict[str, Any]:
    """POST /quotes at NOW and insist on 200."""
    body = {"items": [{"sku": s, "quantity": q} for s, q in items], "at": NOW.isoformat(), **extra}
    response = client.post("/api/v1/quotes", json=body, headers=headers)
    assert response.status_code == 200, response.text
    quoted: dict[str, Any] = response.json()
    return quoted


def garments(client: TestClient, headers: dict[str, str]) -> None:
    """The clothing brand's garments."""
    for sku, (title, price) in GARMENTS.items():
        product(client, headers, sku, price, title=title)


MATRIX_SKU = "MATRIX-SKU"
MATRIX_PRODUCT = {"sku": "MATRIX-NEW", "title": "新品", "price_fen": 100, "commission_rate_bp": 100}
MATRIX_IMPORT = {
    "file": ("c.csv", b"sku,title,price_fen,commission_rate_bp\nMATRIX-CSV,x,100,100\n", "text/csv")
}
MATRIX_COUPON = {
    "name": "matrix",
    "kind": "amount_off",
    "value": 100,
    "total_quantity": 10,
    "starts_at": OPENS,
    "ends_at": CLOSES,
}
MATRIX_PROMOTION = {
    "name": "matrix",
    "kind": "spend_threshold_off",
    "params": {"min_spend_fen": 100, "off_fen": 10},
    "starts_at": OPENS,
    "ends_at": CLOSES,
}


def matrix_world(client: TestClient, headers: dict[str, str]) -> dict[str, int]:
    """A product, a public coupon and a promotion for the authorization matrix."""
    created = product(client, headers, MATRIX_SKU, 990)
    public = coupon(client, headers, 100)
    promo = promotion(
        client, headers, {"kind": "spend_threshold_off", "params": {"min_spend_fen": 1, "off_fen": 1}}
    )
    return {"product_id": created["id"], "coupon_id": public["id"], "promotion_id": promo["id"]}
