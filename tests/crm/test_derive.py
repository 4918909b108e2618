"""What the book derives from the program's orders and touches: last purchase and click, spending
power by the program's percentiles of net spend, preferred categories; the product tags it matches."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.ids import customer_ref_hash
from neigou.kit.settings import Settings
from neigou.links.models import ShareLink, Touch, TouchKind
from tests.conftest import row_counts
from tests.crm.builders import add_customer
from tests.offers.factories import post, product
from tests.orders import builders as orders
from tests.orders.builders import PAID_AT, order_body, post_order


def test_spending_power_last_purchase_and_categories(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], settings: Settings
) -> None:
    world = orders.build(client, operator, factory)
    post(client, operator, "categories", {"code": "apparel", "name": "服饰"})
    post(client, operator, "categories", {"code": "shoes", "name": "鞋"})
    coat = product(client, operator, "CRM-COAT", 60_000, category_code="apparel", tags=["通勤", "冬装"])
    assert coat["tags"] == ["通勤", "冬装"]
    product(client, operator, "CRM-SHOE", 30_000, category_code="shoes")
    ids = {
        name: add_customer(client, operator, world.seller, ref, name=name)["id"]
        for name, ref in (("a", "shopper-a"), ("b", "shopper-b"), ("c", "shopper-c"), ("d", "shopper-d"))
    }
    last = PAID_AT + timedelta(days=3)
    post_order(client, operator, order_body(world, "o-a1", ("CRM-COAT", 2, 20_000), customer="shopper-a"))
    post_order(
        client, operator, order_body(world, "o-a2", ("CRM-SHOE", 1, 10_000), customer="shopper-a", at=last)
    )
    post_order(client, operator, order_body(world, "o-b", ("CRM-SHOE", 1, 10_000), customer="shopper-b"))
    post_order(client, operator, order_body(world, "o-c", ("CRM-COAT", 1, 500), customer="shopper-c"))
    post_order(
        client, operator, order_body(world, "o-x", ("CRM-COAT", 1, 20_000), customer="not-in-the-book")
    )
    with factory() as session, session.begin():
        link = session.scalars(select(ShareLink).where(ShareLink.code == world.link)).one()
        session.add(
            Touch(
                program_id=world.program_id,
                customer_ref_hash=customer_ref_hash(settings.secret_key, "shopper-d"),
                member_id=world.seller,
                link_id=link.id,
                link_code=link.code,
                kind=TouchKind.CLICK,
                source_ref="click:crm-test",
                touched_at=PAID_AT,
            )
        )
    derived = client.post(f"/api/v1/programs/{world.program_id}/customers/derive", headers=operator)
    assert derived.json() == {"customers": 4}
    shown = {
        c["name"]: c for c in client.get(f"/api/v1/members/{world.seller}/customers", headers=operator).json()
    }
    # Buyers by net spend: c 500 < b 10,000 < outsider 20,000 < a 30,000.
    assert {n: shown[n]["spending_power_derived"] for n in ids} == {
        "a": "high",
        "b": "mid",
        "c": "low",
        "d": None,
    }
    assert shown["a"]["last_purchase_at"] == last.isoformat().replace("+00:00", "Z")
    assert shown["d"]["last_purchase_at"] is None
    assert shown["d"]["last_click_at"] == PAID_AT.isoformat().replace("+00:00", "Z")
    assert {n: shown[n]["preferred_categories"] for n in ids} == {
        "a": ["apparel", "shoes"],
        "b": ["shoes"],
        "c": ["apparel"],
        "d": [],
    }
    before = row_counts(factory)
    again = client.post(f"/api/v1/programs/{world.program_id}/customers/derive", headers=operator)
    assert again.json() == {"customers": 4}
    assert row_counts(factory) == before
