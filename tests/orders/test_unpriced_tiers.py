"""An order never silently pays a member nothing for want of a tier: a member without any tier is
priced at the program's entry tier, and a member who held, when the order was paid, a tier the ladder
no longer has gets the order refused (``tier_not_in_ladder``), the same for one order through the API
and for a batch (a file, a feed); the set-based write of a large batch: ``test_set_writes.py``."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.clock import utcnow
from neigou.kit.columns import RowError
from neigou.kit.db import transaction
from neigou.orders.ingest import Taken, ingest
from neigou.orders.inputs import ItemIn, OrderIn
from neigou.orders.models import OrderSource
from tests.conftest import SECRET, row_counts
from tests.orders.builders import (
    GONE_FROM,
    GONE_UNTIL,
    PAID_AT,
    SKU,
    build,
    legacy_tiers,
    order_body,
    post_order,
)


def test_a_seller_without_a_tier_is_paid_at_the_entry_tier(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    world = build(client, operator, factory)
    legacy_tiers(factory, world)
    order = post_order(client, operator, order_body(world, "TIERLESS-1", (SKU, 1, 10_000)))
    # pool 2000: the seller at super_member's 20%, the owner's 5% and the mentor's 10% overrides
    assert [(c["member_id"], c["level"], c["tier"], c["amount_fen"]) for c in order["commissions"]] == [
        (world.seller, 1, "super_member", 400),
        (world.owner, 2, "super_member", 100),
        (world.mentor, 3, "mentor", 200),
    ]


def test_an_order_paid_while_a_member_held_a_tier_gone_from_the_ladder_is_refused(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    world = build(client, operator, factory)
    legacy_tiers(factory, world)
    before = row_counts(factory)
    body = order_body(world, "GONE-1", (SKU, 1, 10_000), at=GONE_FROM + timedelta(minutes=1))
    refused = client.post("/api/v1/orders", json=body, headers=operator)
    assert (refused.status_code, refused.json()["code"]) == (409, "tier_not_in_ladder")
    assert "等级" in refused.json()["detail"]
    english = client.post("/api/v1/orders", json=body, headers={**operator, "Accept-Language": "en"})
    assert "ladder no longer has" in english.json()["detail"]
    assert row_counts(factory) == before
    # The same member's orders paid outside that tier's time are paid as usual.
    after = post_order(client, operator, order_body(world, "GONE-2", (SKU, 1, 10_000), at=GONE_UNTIL))
    assert after["commission_fen"] == 700


def test_a_batch_refuses_only_the_orders_it_cannot_price(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    world = build(client, operator, factory)
    legacy_tiers(factory, world)
    orders = [
        OrderIn(f"B-{n}", world.program_id, f"shopper-{n}", world.link, (ItemIn(SKU, 1, 10_000),), at, row=n)
        for n, at in enumerate((PAID_AT, GONE_FROM, GONE_UNTIL - timedelta(seconds=1), GONE_UNTIL), start=1)
    ]
    with transaction(factory) as session:
        result = ingest(
            session, [*orders, orders[1]], secret_key=SECRET, source=OrderSource.IMPORT, now=utcnow()
        )
    assert [r.code if isinstance(r, RowError) else r.created for r in result.results] == [
        True,
        "tier_not_in_ladder",
        "tier_not_in_ladder",
        True,
        "tier_not_in_ladder",  # the same order twice: refused twice
    ]
    assert [(r.row, r.key) for r in result.errors] == [(2, "B-2"), (3, "B-3"), (2, "B-2")]
    assert all(isinstance(r, Taken) for r in (result.results[0], result.results[3]))
