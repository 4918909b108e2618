"""A salesperson's world for recommendation tests: a catalog of clothes and shoes with taste tags, the
program's orders (co-purchases), a live campaign, and customers in two members' books."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth.models import Role
from neigou.kit.clock import utcnow
from neigou.kit.db import transaction
from neigou.offers.models import Product
from neigou.orders.models import Order
from tests.campaigns.builders import create_campaign
from tests.conftest import TokenMaker, bearer
from tests.crm.builders import add_customer
from tests.factories import create_member, create_program
from tests.offers import factories as offers

CUSTOMER_REF = "13800138000"
# sku: (title, price, category, tags, days since added)
CATALOG: dict[str, tuple[str, int, str | None, list[str], int]] = {
    "COAT": ("羊毛双排扣大衣", 59_900, "apparel", ["羊毛", "通勤"], 200),
    "SCARF": ("羊绒围巾", 19_900, "apparel", ["羊绒"], 200),
    "TEE": ("纯棉通勤T恤", 5_900, "apparel", ["通勤"], 200),
    "JUST": ("直筒西裤", 25_900, "apparel", ["通勤"], 200),
    "SNEAKER": ("白色板鞋", 39_900, "shoes", [], 200),
    "BOOTS": ("切尔西短靴", 69_900, "shoes", [], 200),
    "KNIT": ("高领针织衫", 29_900, None, [], 2),
}
SOLD_OUT = "GONE"  # matches the customer's taste but is off sale


@dataclass(frozen=True)
class RecoWorld:
    """Two members of a salesperson program, each with a customer; the first one's customer bought
    JUST five days ago and SNEAKER a hundred days ago, both through the first member."""

    program_id: int
    member_id: int
    other_member_id: int
    customer_id: int
    other_customer_id: int
    member: dict[str, str]
    other_member: dict[str, str]
    member_token: str


def _order(
    client: TestClient,
    headers: dict[str, str],
    program_id: int,
    n: int,
    *,
    ref: str,
    skus: list[str],
    days: int,
) -> None:
    body = {
        "external_id": f"reco-{n}",
        "program_id": program_id,
        "customer_ref": ref,
        "link_code": None,
        "items": [{"sku": s, "quantity": 1, "paid_fen": CATALOG[s][1]} for s in skus],
        "paid_at": (utcnow() - timedelta(days=days)).isoformat(),
    }
    response = client.post("/api/v1/orders", json=body, headers=headers)
    assert response.status_code == 201, response.text


def build(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], make_token: TokenMaker
) -> RecoWorld:
    """The catalog, the orders, a live campaign of TEE, and a customer per member."""
    program = create_program(client, operator, code="yiduo-sales")
    for code, name in (("apparel", "服饰"), ("shoes", "鞋靴")):
        offers.post(client, operator, "categories", {"code": code, "name": name})
    for sku, (title, price, category, _, _) in CATALOG.items():
        offers.product(client, operator, sku, price, title, category_code=category)
    offers.product(client, operator, SOLD_OUT, 29_900, "通勤风衣", category_code="apparel", active=False)
    now = utcnow()
    with transaction(factory) as session:
        for sku, (_, _, _, tags, days) in CATALOG.items():
            session.execute(
                update(Product)
                .where(Product.sku == sku)
                .values(tags=tags, created_at=now - timedelta(days=days))
            )
        session.execute(
            update(Product)
            .where(Product.sku == SOLD_OUT)
            .values(tags=["通勤", "羊毛"], created_at=now - timedelta(days=200))
        )
    _order(client, operator, program["id"], 1, ref=CUSTOMER_REF, skus=["JUST"], days=5)
    _order(client, operator, program["id"], 2, ref=CUSTOMER_REF, skus=["SNEAKER"], days=100)
    _order(client, operator, program["id"], 3, ref="13900000001", skus=["SNEAKER", "BOOTS"], days=60)
    _order(client, operator, program["id"], 4, ref="13900000002", skus=["SNEAKER"], days=50)
    _order(client, operator, program["id"], 5, ref="13900000002", skus=["BOOTS"], days=40)
    _order(client, operator, program["id"], 6, ref="13900000003", skus=["SNEAKER", "SCARF"], days=30)
    create_campaign(
        client,
        operator,
        {
            "program_id": program["id"],
            "name": "早秋通勤季",
            "skus": ["TEE"],
            "commission_boost_bp": 300,
            "starts_at": (now - timedelta(days=1)).isoformat(),
            "ends_at": (now + timedelta(days=6)).isoformat(),
        },
    )
    member = create_member(client, operator, program["id"], "导购小林")
    other = create_member(client, operator, program["id"], "导购小周")
    customer = add_customer(
        client,
        operator,
        member["id"],
        CUSTOMER_REF,
        name="王女士",
        tags=["羊毛", "通勤"],
        spending_power="high",
    )["id"]
    other_customer = add_customer(client, operator, other["id"], "13900000001", name="李先生")["id"]
    with transaction(factory) as session:  # the customer bought through the member
        session.execute(
            update(Order).where(Order.external_id.in_(["reco-1", "reco-2"])).values(member_id=member["id"])
        )
    token = make_token(Role.MEMBER, member["id"])
    return RecoWorld(
        program_id=program["id"],
        member_id=member["id"],
        other_member_id=other["id"],
        customer_id=customer,
        other_customer_id=other_customer,
        member=bearer(token),
        other_member=bearer(make_token(Role.MEMBER, other["id"])),
        member_token=token,
    )


def place_order(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    world: RecoWorld,
    external_id: str,
    *,
    ref: str,
    skus: list[str],
    days: int,
    member_id: int | None = None,
) -> None:
    """An order of ``skus`` by ``ref`` ``days`` ago, attributed to ``member_id`` when given."""
    body = {
        "external_id": external_id,
        "program_id": world.program_id,
        "customer_ref": ref,
        "link_code": None,
        "items": [{"sku": s, "quantity": 1, "paid_fen": CATALOG[s][1]} for s in skus],
        "paid_at": (utcnow() - timedelta(days=days)).isoformat(),
    }
    response = client.post("/api/v1/orders", json=body, headers=operator)
    assert response.status_code == 201, response.text
    if member_id is not None:
        with transaction(factory) as session:
            session.execute(update(Order).where(Order.external_id == external_id).values(member_id=member_id))


def reasons(client: TestClient, customer_id: int, headers: dict[str, str]) -> dict[str, list[str]]:
    """The customer's suggestions (up to 50) as sku → reasons, asked with ``headers``."""
    response = client.get(f"/api/v1/customers/{customer_id}/recommendations?limit=50", headers=headers)
    assert response.status_code == 200, response.text
    return {i["sku"]: i["reasons"] for i in response.json()["items"]}
