"""A cookie's linkage to a shopper counts as a device fact only in the organization the shopper gave it
to: another organization's (or one stored before organizations were recorded) opens no case here."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.clock import utcnow
from neigou.kit.db import transaction
from neigou.kit.ids import customer_ref_hash
from neigou.links.models import Visitor
from neigou.programs.models import Program
from tests.conftest import SECRET
from tests.offers import factories as offers
from tests.orders import builders as orders
from tests.orders.builders import order_body, post_order
from tests.risk.builders import cases, claim_from_device

SELLER_PHONE = "13800000001"  # the seller's own number (orders.build)


@pytest.mark.parametrize(("where", "opened"), [("own", True), ("other", False), ("unrecorded", False)])
def test_a_linkage_counts_as_the_sellers_device_only_in_its_organization(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], where: str, opened: bool
) -> None:
    world = orders.build(client, operator, factory)
    now = utcnow()
    coupon = offers.coupon(
        client,
        operator,
        100,
        total_quantity=1000,
        starts_at=(now - timedelta(days=1)).isoformat(),
        ends_at=(now + timedelta(days=1)).isoformat(),
    )
    # A shopper claims on a device whose cookie the seller's own number identified.
    claim_from_device(
        factory, SECRET, coupon_id=int(coupon["id"]), link_code=world.link, visitor_id="dev-1", refs=["c-dev"]
    )
    with transaction(factory) as session:
        program = session.get(Program, world.program_id)
        visitor = session.get(Visitor, "dev-1")
        assert program is not None
        assert visitor is not None
        visitor.customer_ref_hash = customer_ref_hash(SECRET, SELLER_PHONE)
        visitor.organization_id = {
            "own": program.organization_id,
            "other": program.organization_id + 1000,
            "unrecorded": None,
        }[where]
    post_order(client, operator, order_body(world, "DEV-1", customer="c-dev"))
    post_order(client, operator, order_body(world, "FAR-1", customer="c-far"))
    found = [
        c
        for c in cases(client, operator, world.program_id, "open")
        if c["member_id"] == world.seller and c["rule"] == "shared_identity"
    ]
    assert bool(found) is opened
    if opened:
        assert found[0]["evidence"]["shared"] == ["device_seller"]
