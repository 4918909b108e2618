"""Two organizations sell the same sku (two platforms distributing one JD product), each at its own price
and commission rate: each sees, links, quotes, sells and earns on its own product only, an order batch
holding both organizations' orders prices each line with its own organization's terms, a fixed commission
per sku is one organization's, and a second product of the sku in one organization is 409 ``sku_taken``
naming nothing of the other (docs/tenancy.md)."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.clock import utcnow
from neigou.kit.db import transaction
from neigou.kit.scoping import Scope, use_scope
from neigou.orders.ingest import ingest
from neigou.orders.inputs import ItemIn, OrderIn
from neigou.orders.models import Order, OrderLine, OrderSource, SkuCommission
from tests.conftest import SECRET, TokenMaker
from tests.offers import factories as offers
from tests.organizations.builders import Tenant, paid_data, send, tenant

SKU = "JD-100012"
# Each organization's price and commission rate of the sku: a mix-up shows in every figure.
TERMS = {"brand-a": (10_000, 2000), "brand-b": (30_000, 1500)}


def _two(
    client: TestClient, admin: dict[str, str], make_token: TokenMaker
) -> tuple[Tenant, Tenant, dict[str, str]]:
    """Two organizations, each with its product of ``SKU`` at its own terms and a share link to it."""
    made = []
    links = {}
    for code, (price, rate) in TERMS.items():
        shop = tenant(client, admin, make_token, code)
        offers.product(client, shop.headers, SKU, price, title=f"{code} 商品", commission_rate_bp=rate)
        link = client.post(
            "/api/v1/links", json={"member_id": shop.member_id, "sku": SKU}, headers=shop.headers
        )
        assert link.status_code == 201, link.text
        links[code] = str(link.json()["code"])
        made.append(shop)
    return made[0], made[1], links


def _lines(factory: sessionmaker[Session], program_id: int) -> list[tuple[str, int, int, int]]:
    with factory() as session:
        rows = session.execute(
            select(OrderLine.sku, OrderLine.list_fen, OrderLine.commission_rate_bp, OrderLine.pool_fen)
            .join(Order, Order.id == OrderLine.order_id)
            .where(Order.program_id == program_id)
            .order_by(OrderLine.id)
        )
        return [(str(s), int(li), int(r), int(p)) for s, li, r, p in rows]


def test_each_organization_sees_quotes_and_sells_its_own_product_of_a_shared_sku(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    a, b, links = _two(client, operator, make_token)
    for shop in (a, b):
        seen = client.get(f"/api/v1/products?sku={SKU}", headers=shop.headers).json()
        assert [(p["sku"], p["price_fen"]) for p in seen] == [(SKU, TERMS[shop.code][0])]
    both = client.get(f"/api/v1/products?sku={SKU}", headers=operator).json()
    assert sorted(p["price_fen"] for p in both) == [10_000, 30_000]  # a platform administrator sees both

    again = client.post(
        "/api/v1/products",
        json={"sku": SKU, "title": "again", "price_fen": 1, "commission_rate_bp": 0},
        headers=a.headers,
    )
    assert (again.status_code, again.json()["code"], again.json()["field"]) == (409, "sku_taken", "sku")
    assert SKU not in again.json()["detail"]

    for shop in (a, b):
        quote = client.post(
            "/api/v1/quotes",
            json={"link_code": links[shop.code], "items": [{"sku": SKU, "quantity": 1}]},
            headers=shop.headers,
        )
        assert quote.status_code == 200, quote.text
        assert quote.json()["lines"][0]["unit_price_fen"] == TERMS[shop.code][0]
    unlinked = client.post("/api/v1/quotes", json={"items": [{"sku": SKU, "quantity": 1}]}, headers=operator)
    assert (unlinked.status_code, unlinked.json()["code"]) == (422, "ambiguous_sku")
    own = client.post("/api/v1/quotes", json={"items": [{"sku": SKU, "quantity": 1}]}, headers=b.headers)
    assert (own.status_code, own.json()["lines"][0]["unit_price_fen"]) == (200, 30_000)

    # A signed order webhook of each shop: its line carries its own organization's list price and rate.
    for n, shop in enumerate((a, b)):
        data = paid_data(shop, f"paid-{shop.code}", SKU, link=links[shop.code])
        data["items"][0]["paid_fen"] = TERMS[shop.code][0]
        assert send(client, shop, "order.paid", data, f"msg-{n}").status_code == 201
    for shop in (a, b):
        price, rate = TERMS[shop.code]
        assert _lines(factory, shop.program_id) == [(SKU, price, rate, price * rate // 10_000)]


def test_one_batch_of_both_organizations_prices_each_order_with_its_own_terms(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    a, b, links = _two(client, operator, make_token)
    # A fixed commission per unit is a's alone: b's orders of the sku keep b's rate.
    fixed = client.put(
        f"/api/v1/sku-commissions/{SKU}", json={"fixed_commission_fen": 700}, headers=a.headers
    )
    assert fixed.status_code == 200, fixed.text
    ambiguous = client.put(
        f"/api/v1/sku-commissions/{SKU}", json={"fixed_commission_fen": 1}, headers=operator
    )
    assert (ambiguous.status_code, ambiguous.json()["code"]) == (422, "ambiguous_sku")
    assert [r["sku"] for r in client.get("/api/v1/sku-commissions", headers=b.headers).json()] == []
    paid_at = utcnow() - timedelta(minutes=5)

    def order(shop: Tenant, external_id: str) -> OrderIn:
        price = TERMS[shop.code][0]
        item = ItemIn(sku=SKU, quantity=2, paid_fen=2 * price)
        return OrderIn(external_id, shop.program_id, "13800000009", links[shop.code], (item,), paid_at)

    with transaction(factory) as session:
        taken = ingest(
            session,
            [order(a, "batch-a"), order(b, "batch-b")],
            secret_key=SECRET,
            source=OrderSource.IMPORT,
            now=utcnow(),
        )
    assert len(taken.results) == 2
    assert _lines(factory, a.program_id) == [(SKU, 20_000, 2000, 1400)]  # fixed: 2 × ¥7
    assert _lines(factory, b.program_id) == [(SKU, 60_000, 1500, 9000)]  # b's own rate on ¥600
    # Rows that name the sku follow their order, their organization: b's scope finds b's line alone.
    with factory() as session:
        use_scope(session, Scope(b.organization_id))
        seen = session.execute(select(OrderLine.list_fen).where(OrderLine.sku == SKU)).scalars().all()
        fixed_seen = session.execute(select(SkuCommission.sku)).scalars().all()
    assert (seen, fixed_seen) == ([60_000], [])


def test_a_sku_another_organization_sells_is_free_and_its_image_is_per_organization(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    a, b, _links = _two(client, operator, make_token)
    tiles: dict[str, bytes] = {}
    for shop in (a, b):  # anyone (a landing page's visitor) fetches a tile, each organization's own
        answer = TestClient(client.app).get(f"/img/products/{shop.organization_id}/{SKU}.png")
        assert (answer.status_code, answer.headers["content-type"]) == (200, "image/png")
        tiles[shop.code] = answer.content
    assert tiles["brand-a"] != tiles["brand-b"]  # each drawn with its own title and price
    only_b = client.get(f"/img/products/{a.organization_id}/{b.sku}.png")
    assert (only_b.status_code, only_b.json()["code"]) == (404, "product_not_found")
    landing = client.get(f"/p/{_links['brand-b']}")
    assert f"/img/products/{b.organization_id}/{SKU}.png" in landing.text
