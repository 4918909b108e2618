"""Another organization's shop cannot touch this organization's rows through its signed webhooks (which
carry no token, so the authorization matrix does not reach them) nor through the platform feed: this
organization's skus, share links, events and orders do not exist for it (422 or 404, nothing
written), and this organization's promotions never price its orders."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.integrations import standard
from neigou.kit.clock import utcnow
from neigou.programs.models import Program
from tests.authz.matrix import World
from tests.conftest import bearer, row_counts
from tests.offers import factories as offers
from tests.organizations.builders import open_window

pytestmark = pytest.mark.world_per_module
STRANGER_SKU = "STRANGER-SKU"


def _stranger_shop(client: TestClient, world: World, factory: sessionmaker[Session]) -> dict[str, Any]:
    """A shop of the other organization's program, and a product of that organization."""
    headers = bearer(world.other_tokens["operator"])
    with factory() as session:
        program_id = session.scalars(select(Program.id).where(Program.code == "stranger")).one()
    offers.product(client, headers, STRANGER_SKU, 1000)
    shop = client.post(f"/api/v1/programs/{program_id}/integrations", json={"name": "邻店"}, headers=headers)
    assert shop.status_code == 201, shop.text
    created: dict[str, Any] = shop.json()
    return created


def _send(
    client: TestClient, shop: dict[str, Any], event_type: str, data: dict[str, Any], message: str
) -> Any:
    body = json.dumps({"type": event_type, "data": data}).encode()
    headers = standard.headers(shop["inbound_secret"], message, utcnow(), body)
    return client.post(
        f"/webhooks/v1/integrations/{shop['id']}",
        content=body,
        headers={**headers, "content-type": "application/json"},
    )


def _paid(external_id: str, sku: str = STRANGER_SKU, **extra: Any) -> dict[str, Any]:
    return {
        "external_id": external_id,
        "customer_ref": "13800000009",
        "items": [{"sku": sku, "quantity": 1, "paid_fen": 1000}],
        "paid_at": (utcnow() - timedelta(minutes=5)).isoformat(),
        **extra,
    }


def test_another_organizations_shop_cannot_reach_this_organizations_rows(
    client: TestClient, world: World, factory: sessionmaker[Session]
) -> None:
    shop = _stranger_shop(client, world, factory)
    before = row_counts(factory)
    refusals = [
        ("order.paid", _paid("X-1", world.ids["sku"]), 422, "unknown_sku"),
        ("order.paid", _paid("X-2", link_code=world.ids["code"]), 422, "unknown_link"),
        ("order.paid", _paid("X-3", event_id=world.ids["event_id"]), 422, "event_not_found"),
        ("order.completed", {"external_id": world.ids["external_id"]}, 404, "order_not_found"),
        (
            "order.refunded",
            {"external_id": world.ids["external_id"], "refund_id": "X-R", "amount_fen": 1},
            404,
            "order_not_found",
        ),
    ]
    for n, (event_type, data, status, code) in enumerate(refusals):
        refused = _send(client, shop, event_type, data, f"msg-{n}")
        assert (refused.status_code, refused.json()["code"]) == (status, code), (event_type, refused.text)
    assert row_counts(factory) == before
    # Nor through the platform feed, with the other organization's integration token.
    feed = client.post(
        f"/api/v1/integrations/{world.ids['integration_id']}/feeds/taobao",
        json={"rows": []},
        headers=bearer(world.other_tokens["integration"]),
    )
    assert (feed.status_code, feed.json()["code"]) == (404, "integration_not_found")


def test_this_organizations_promotion_never_prices_another_organizations_webhook_order(
    client: TestClient, world: World, factory: sessionmaker[Session]
) -> None:
    shop = _stranger_shop(client, world, factory)
    kind = {"kind": "spend_threshold_off", "params": {"min_spend_fen": 1, "off_fen": 300}}
    offers.promotion(client, bearer(world.tokens["operator"]), kind, **open_window())
    taken = _send(client, shop, "order.paid", _paid("X-1"), "msg-1")
    assert taken.status_code == 201, taken.text
    assert (taken.json()["pricing"]["promotion_discount_fen"], taken.json()["pricing"]["applied"]) == (0, [])
