"""GET /customers/{id}/recommendations: signals from the program's orders and catalog, reasons in the
reader's language, exclusions, and who may ask."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from neigou.crm.models import Customer
from neigou.kit.clock import utcnow
from neigou.kit.db import transaction
from tests.conftest import TokenMaker
from tests.crm import reco_builders
from tests.crm.reco_builders import RecoWorld

pytestmark = pytest.mark.world_per_module


@pytest.fixture(scope="module")
def world(
    module_client: TestClient,
    module_operator: dict[str, str],
    module_factory: sessionmaker[Session],
    module_make_token: TokenMaker,
) -> RecoWorld:
    return reco_builders.build(module_client, module_operator, module_factory, module_make_token)


def _get(
    client: TestClient, world: RecoWorld, headers: dict[str, str], query: str = ""
) -> list[dict[str, object]]:
    response = client.get(f"/api/v1/customers/{world.customer_id}/recommendations{query}", headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, object]] = response.json()["items"]
    return items


def test_best_first_with_reasons_in_chinese(client: TestClient, world: RecoWorld) -> None:
    items = _get(client, world, world.member)
    assert [(i["sku"], i["score"]) for i in items] == [
        ("COAT", 140),
        ("BOOTS", 110),
        ("TEE", 45),
        ("SNEAKER", 40),
        ("KNIT", 38),
    ]
    assert items[0] == {
        "sku": "COAT",
        "title": "羊毛双排扣大衣",
        "price_fen": 59_900,
        "score": 140,
        "reasons": ["合其喜好：羊毛 / 通勤", "常买品类：服饰", "价位合其消费力（高）"],
    }
    assert items[1]["reasons"] == ["常买品类：鞋靴", "2 位顾客与白色板鞋一起买过", "价位合其消费力（高）"]
    assert items[2]["reasons"] == ["合其喜好：通勤", "常买品类：服饰", "商家活动：早秋通勤季"]
    assert items[4]["reasons"] == ["当季新品"]


def test_reasons_in_english_and_limit(client: TestClient, world: RecoWorld) -> None:
    items = _get(client, world, {**world.member, "Accept-Language": "en-US,en;q=0.9"}, "?limit=2")
    assert [i["sku"] for i in items] == ["COAT", "BOOTS"]
    assert items[1]["reasons"] == [
        "A category they buy: 鞋靴",
        "Bought together with 白色板鞋 by 2 customers",
        "Priced for a big spender",
    ]


def test_never_what_was_just_bought_or_is_off_sale(client: TestClient, world: RecoWorld) -> None:
    skus = {i["sku"] for i in _get(client, world, world.member, "?limit=50")}
    assert "JUST" not in skus  # bought five days ago
    assert reco_builders.SOLD_OUT not in skus  # matches the taste, but off sale
    assert "SCARF" not in skus  # bought together and a category they buy, but priced far below them


def test_an_erased_customer_is_gone(
    client: TestClient, world: RecoWorld, factory: sessionmaker[Session]
) -> None:
    with transaction(factory) as session:
        session.execute(update(Customer).where(Customer.id == world.customer_id).values(erased_at=utcnow()))
    gone = client.get(f"/api/v1/customers/{world.customer_id}/recommendations", headers=world.member)
    assert (gone.status_code, gone.json()["code"]) == (404, "customer_not_found")


def test_a_member_reaches_only_their_own_customers(
    client: TestClient, world: RecoWorld, operator: dict[str, str]
) -> None:
    other = client.get(f"/api/v1/customers/{world.customer_id}/recommendations", headers=world.other_member)
    assert other.status_code == 404
    assert other.json()["code"] == "customer_not_found"
    assert client.get(f"/api/v1/customers/{world.customer_id}/recommendations").status_code == 401
    assert len(_get(client, world, operator)) == 5
    missing = client.get("/api/v1/customers/999999/recommendations", headers=operator)
    assert (missing.status_code, missing.json()["code"]) == (404, "customer_not_found")
    bad = client.get(f"/api/v1/customers/{world.customer_id}/recommendations?limit=51", headers=operator)
    assert (bad.status_code, bad.json()["code"]) == (422, "validation_error")


def test_a_fully_refunded_order_is_no_co_purchase(
    client: TestClient, world: RecoWorld, operator: dict[str, str]
) -> None:
    paid = reco_builders.CATALOG["SNEAKER"][1] + reco_builders.CATALOG["BOOTS"][1]
    refund = client.post(
        "/api/v1/orders/reco-3/refunds", json={"refund_id": "R-reco-3", "amount_fen": paid}, headers=operator
    )
    assert refund.status_code == 201, refund.text
    boots = next(i for i in _get(client, world, world.member) if i["sku"] == "BOOTS")
    assert boots["score"] == 40 + 15 + 40
    assert boots["reasons"] == ["常买品类：鞋靴", "1 位顾客与白色板鞋一起买过", "价位合其消费力（高）"]
