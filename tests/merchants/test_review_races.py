"""One rate request per product at a time, also under a burst: a merchant's change of a product reads it
locked, and a second pending review of a product is refused by a partial unique index (migration 0037)
with the same 409 ``review_pending``, never a 500. The burst runs on parallel PostgreSQL connections (one
after another on SQLite). And an approval never overwrites a rate an operator changed after the request:
409 ``rate_changed``, nothing written, the review still pending to be rejected; on both databases."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth.models import Role
from neigou.kit.db import transaction
from neigou.kit.errors import Conflict
from neigou.kit.scoping import Scope, use_scope
from neigou.offers import catalog_service, review
from neigou.offers.models import Product
from neigou.offers.schemas import ProductUpdate
from neigou.organizations.models import MerchantReview, ReviewStatus
from tests.conftest import BACKEND, TEST_ACTOR, TokenMaker, bearer, row_counts
from tests.lost_race import lost_race
from tests.parallel import race

THREADS = 20 if BACKEND == "postgresql" else 1


@dataclass
class Shop:
    organization_id: int
    merchant_id: int
    product_id: int
    operator: dict[str, str]
    merchant: dict[str, str]


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _shop(client: TestClient, admin: dict[str, str], make_token: TokenMaker) -> Shop:
    """An organization that reviews merchants' changes, its merchant and the merchant's product at 10%."""
    brand = _ok(
        client.post("/api/v1/organizations", json={"code": "brand", "name": "品牌"}, headers=admin), 201
    )
    operator = bearer(make_token(Role.OPERATOR, organization_id=brand["id"]))
    shop = _ok(client.post("/api/v1/merchants", json={"code": "r-shop", "name": "店"}, headers=operator), 201)
    merchant = bearer(make_token(Role.MERCHANT, merchant_id=shop["id"]))
    body = {"sku": "RACE-SKU", "title": "店品", "price_fen": 1000, "commission_rate_bp": 1000}
    product = _ok(client.post("/api/v1/products", json=body, headers=merchant), 201)
    on = {"review_merchant_changes": True}
    _ok(client.patch(f"/api/v1/organizations/{brand['id']}", json=on, headers=operator))
    return Shop(brand["id"], shop["id"], product["id"], operator, merchant)


def _pending(factory: sessionmaker[Session], product_id: int) -> int:
    with factory() as session:
        return int(
            session.scalar(
                select(func.count(MerchantReview.id)).where(
                    MerchantReview.product_id == product_id, MerchantReview.status == ReviewStatus.PENDING
                )
            )
            or 0
        )


def test_a_burst_of_rate_changes_leaves_one_pending_review(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    shop = _shop(client, operator, make_token)

    def attempt(i: int) -> str:
        try:
            with transaction(factory) as session:
                use_scope(session, Scope(shop.organization_id, merchant_id=shop.merchant_id))
                data = ProductUpdate(commission_rate_bp=1100 + i)
                catalog_service.update_product(
                    session, product_id=shop.product_id, data=data, actor=TEST_ACTOR
                )
                return "held"
        except Conflict as exc:
            return exc.code

    assert race(factory, attempt, 20, THREADS) == {"held": 1, "review_pending": 19}
    assert _pending(factory, shop.product_id) == 1
    shown = _ok(client.get(f"/api/v1/products/{shop.product_id}", headers=shop.operator))
    assert shown["commission_rate_bp"] == 1000


def test_a_request_that_got_past_the_check_is_a_409(
    client: TestClient,
    operator: dict[str, str],
    make_token: TokenMaker,
    factory: sessionmaker[Session],
    engine: Engine,
) -> None:
    shop = _shop(client, operator, make_token)
    path = f"/api/v1/products/{shop.product_id}"

    def inner() -> Any:
        return client.patch(path, json={"commission_rate_bp": 1500}, headers=shop.merchant)

    # This request checks without the product's lock; the merchant's PATCH asks for a rate right after.
    with factory() as session:
        product = session.get_one(Product, shop.product_id)
        with lost_race(engine, "merchant_reviews", inner, after_read=True) as statuses:
            try:
                review.hold_rate(session, product, 1800, actor=TEST_ACTOR, at=product.updated_at)
                outcome = "held"
            except Conflict as exc:
                outcome = exc.code
        session.rollback()
    assert statuses == [200]
    assert outcome == "review_pending"
    assert _pending(factory, shop.product_id) == 1
    mine = _ok(client.get("/api/v1/merchant-reviews", headers=shop.merchant))
    assert [(r["rate_after_bp"], r["status"]) for r in mine] == [(1500, "pending")]


def test_an_approval_never_overwrites_a_rate_changed_meanwhile(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    shop = _shop(client, operator, make_token)
    path = f"/api/v1/products/{shop.product_id}"
    _ok(client.patch(path, json={"commission_rate_bp": 2500}, headers=shop.merchant))
    (pending,) = _ok(client.get("/api/v1/merchant-reviews?status=pending", headers=shop.operator))
    assert (pending["rate_before_bp"], pending["rate_after_bp"]) == (1000, 2500)
    # The operator changes the rate directly while the request waits.
    _ok(client.patch(path, json={"commission_rate_bp": 1200}, headers=shop.operator))
    before = row_counts(factory)
    approve = f"/api/v1/merchant-reviews/{pending['id']}/approve"
    for lang, words in (("en", "changed after review"), ("zh-CN", "已被修改")):
        refused = client.post(approve, json={}, headers={**shop.operator, "Accept-Language": lang})
        assert (refused.status_code, refused.json()["code"]) == (409, "rate_changed")
        assert (refused.json()["rate_before_bp"], refused.json()["commission_rate_bp"]) == (1000, 1200)
        assert words in refused.json()["detail"]
    assert row_counts(factory) == before
    assert _ok(client.get(path, headers=shop.operator))["commission_rate_bp"] == 1200
    assert _ok(client.get(f"/api/v1/merchant-reviews/{pending['id']}", headers=shop.operator))["status"] == (
        "pending"
    )
    # Rejected, the merchant may ask again from the new rate; that request is approved as asked.
    _ok(client.post(f"/api/v1/merchant-reviews/{pending['id']}/reject", json={}, headers=shop.operator))
    _ok(client.patch(path, json={"commission_rate_bp": 2000}, headers=shop.merchant))
    (again,) = _ok(client.get("/api/v1/merchant-reviews?status=pending", headers=shop.operator))
    assert again["rate_before_bp"] == 1200
    _ok(client.post(f"/api/v1/merchant-reviews/{again['id']}/approve", json={}, headers=shop.operator))
    assert _ok(client.get(path, headers=shop.operator))["commission_rate_bp"] == 2000
