"""Brands, categories and products through the API, with their refusals and audit entries."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.audit.models import AuditEntry
from neigou.auth.models import Role
from tests.conftest import TokenMaker, bearer, row_counts
from tests.offers.factories import post, product


def test_create_and_read_a_product(client: TestClient, operator: dict[str, str]) -> None:
    post(client, operator, "brands", {"code": "lanquan", "name": "澜泉"})
    post(client, operator, "categories", {"code": "personal-care", "name": "个护美妆"})
    created = product(
        client,
        operator,
        "LQ-SHAMPOO-500",
        4990,
        title="澜泉 氨基酸控油洗发水 500ml",
        brand_code="lanquan",
        category_code="personal-care",
        image_url="https://img.example.com/lq.jpg",
        shop_url="https://shop.example.com/item/1",
    )
    assert created["price_fen"] == 4990
    assert created["commission_rate_bp"] == 2000
    assert (created["brand_code"], created["category_code"], created["active"]) == (
        "lanquan",
        "personal-care",
        True,
    )
    fetched = client.get(f"/api/v1/products/{created['id']}", headers=operator).json()
    assert fetched == created
    assert client.get("/api/v1/brands", headers=operator).json()[0]["name"] == "澜泉"
    assert client.get("/api/v1/categories", headers=operator).json()[0]["code"] == "personal-care"


def test_product_refusals_change_nothing(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    product(client, operator, "SKU-1", 100)
    before = row_counts(factory)
    again = client.post(
        "/api/v1/products",
        json={"sku": "SKU-1", "title": "again", "price_fen": 1, "commission_rate_bp": 0},
        headers=operator,
    )
    assert (again.status_code, again.json()["code"]) == (409, "sku_taken")
    brand = client.post(
        "/api/v1/products",
        json={"sku": "SKU-2", "title": "x", "price_fen": 1, "commission_rate_bp": 0, "brand_code": "ghost"},
        headers=operator,
    )
    assert (brand.status_code, brand.json()["code"]) == (422, "unknown_brand")
    malformed = client.post(
        "/api/v1/products",
        json={"sku": "bad sku", "title": "", "price_fen": 49.9, "commission_rate_bp": 10001},
        headers=operator,
    )
    assert malformed.status_code == 422
    assert malformed.headers["content-type"] == "application/problem+json"
    assert {e["field"] for e in malformed.json()["errors"]} == {
        "sku",
        "title",
        "price_fen",
        "commission_rate_bp",
    }
    taken = client.post("/api/v1/brands", json={"code": "b", "name": "B"}, headers=operator)
    assert taken.status_code == 201
    dup = client.post("/api/v1/brands", json={"code": "b", "name": "B"}, headers=operator)
    assert (dup.status_code, dup.json()["code"]) == (409, "brand_code_taken")
    assert client.get("/api/v1/products/424242", headers=operator).json()["code"] == "product_not_found"
    after = row_counts(factory)
    assert after["products"] == before["products"]
    assert after["brands"] == before["brands"] + 1


def test_list_filters(client: TestClient, operator: dict[str, str], make_token: TokenMaker) -> None:
    post(client, operator, "brands", {"code": "yiduo", "name": "衣朵"})
    post(client, operator, "categories", {"code": "apparel", "name": "服饰"})
    product(
        client,
        operator,
        "YD-TEE",
        5900,
        title="衣朵 纯棉圆领T恤",
        brand_code="yiduo",
        category_code="apparel",
    )
    product(client, operator, "YD-JEANS", 12900, title="衣朵 高腰直筒牛仔裤", brand_code="yiduo")
    product(client, operator, "RICE-5KG", 3990, title="东北五常大米 5kg", active=False)
    integration = bearer(make_token(Role.INTEGRATION))

    def skus(query: str) -> list[str]:
        response = client.get(f"/api/v1/products{query}", headers=integration)
        assert response.status_code == 200, response.text
        return [p["sku"] for p in response.json()]

    assert skus("") == ["YD-TEE", "YD-JEANS", "RICE-5KG"]
    assert skus("?q=牛仔") == ["YD-JEANS"]
    assert skus("?q=yd-") == ["YD-TEE", "YD-JEANS"]
    assert skus("?q=%25") == []
    assert skus("?brand=yiduo&category=apparel") == ["YD-TEE"]
    assert skus("?brand=ghost") == []
    assert skus("?active=false") == ["RICE-5KG"]
    assert skus("?sku=RICE-5KG") == ["RICE-5KG"]
    assert skus("?limit=1&offset=1") == ["YD-JEANS"]


def test_patch_changes_only_what_is_sent_and_is_audited(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    post(client, operator, "brands", {"code": "lanquan", "name": "澜泉"})
    created = product(client, operator, "LQ-1", 4990, title="洗发水", brand_code="lanquan")
    path = f"/api/v1/products/{created['id']}"
    changed = client.patch(path, json={"price_fen": 3990, "brand_code": None}, headers=operator)
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert (body["price_fen"], body["brand_code"], body["title"], body["sku"]) == (
        3990,
        None,
        "洗发水",
        "LQ-1",
    )
    assert body["updated_at"] >= created["updated_at"]
    same = client.patch(path, json={"price_fen": 3990}, headers=operator)
    assert same.status_code == 200
    sku = client.patch(path, json={"sku": "OTHER"}, headers=operator)
    assert (sku.status_code, sku.json()["code"]) == (422, "validation_error")
    cleared = client.patch(path, json={"title": None}, headers=operator)
    assert cleared.json()["code"] == "validation_error"
    unknown = client.patch(path, json={"category_code": "ghost"}, headers=operator)
    assert unknown.json()["code"] == "unknown_category"
    missing = client.patch("/api/v1/products/424242", json={"title": "x"}, headers=operator)
    assert (missing.status_code, missing.json()["code"]) == (404, "product_not_found")
    with factory() as session:
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.entity == "product").order_by(AuditEntry.id)
        ).all()
    assert [e.action for e in entries] == ["product.create", "product.update"]
    brand_id = client.get("/api/v1/brands", headers=operator).json()[0]["id"]
    assert entries[1].before == {"brand_id": brand_id, "price_fen": 4990}
    assert entries[1].after == {"brand_id": None, "price_fen": 3990}
    assert entries[1].actor_kind == "operator"


def test_product_tags_are_tidied_replaced_and_cleared(client: TestClient, operator: dict[str, str]) -> None:
    made = product(client, operator, "TAGGED-1", 9900, tags=[" 通勤 ", "尺码：M", "通勤", ""])
    assert made["tags"] == ["通勤", "尺码:M"]  # NFKC folds the full-width colon
    path = f"/api/v1/products/{made['id']}"
    assert client.patch(path, json={"tags": ["冬装"]}, headers=operator).json()["tags"] == ["冬装"]
    assert client.patch(path, json={"tags": None}, headers=operator).json()["tags"] == []
    too_many = client.patch(path, json={"tags": [f"t{i}" for i in range(21)]}, headers=operator)
    assert (too_many.status_code, too_many.json()["code"]) == (422, "validation_error")
