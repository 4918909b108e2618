"""A started campaign keeps its boost and its products (409 ``terms_locked``): an order paid during it
may be reported later (a retried webhook, an import, a platform's feed) and is priced by the campaign
as it stands then, so a change would reach back to it. It may still end earlier (now at the earliest)
or later, and its name, copy and coupon change as before."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.clock import utcnow
from tests.campaigns import builders as b
from tests.conftest import TokenMaker, row_counts
from tests.offers import factories as offers

pytestmark = pytest.mark.world_per_module


@pytest.fixture(scope="module")
def world(
    module_client: TestClient, module_operator: dict[str, str], module_make_token: TokenMaker
) -> b.FeedWorld:
    return b.build(module_client, module_operator, module_make_token)


def _live(client: TestClient, operator: dict[str, str], world: b.FeedWorld, **extra: Any) -> dict[str, Any]:
    """A campaign of the tee (10%) boosted by 5%, live since three hours ago for two days."""
    now = utcnow().replace(microsecond=0)
    body = b.campaign_body(
        world.program_id,
        skus=[b.TEE],
        starts_at=(now - timedelta(hours=3)).isoformat(),
        ends_at=(now + timedelta(days=2)).isoformat(),
        **extra,
    )
    return b.create_campaign(client, operator, body)


def _patch(client: TestClient, headers: dict[str, str], campaign_id: int, body: dict[str, Any]) -> Any:
    return client.patch(f"/api/v1/campaigns/{campaign_id}", json=body, headers=headers)


def test_a_twin_order_reported_after_an_attempted_change_earns_the_same(
    client: TestClient, operator: dict[str, str], world: b.FeedWorld
) -> None:
    """¥100 of the tee (10%) through a campaign boosting it by 5%, paid an hour ago, to a seller on 20%:
    300 fen reported at once, and 300 fen for its twin reported after the boost was to be set to 0."""
    campaign = _live(client, operator, world)
    made = client.post(
        f"/api/v1/members/{world.owner}/posts",
        json={"group_ids": [world.groups[0]], "skus": [b.TEE], "at": utcnow().isoformat()},
        headers=world.owner_headers,
    )
    assert made.status_code == 201, made.text
    link = made.json()["posts"][0]["links"][0]
    assert link["campaign_id"] == campaign["id"]
    paid_at = utcnow() - timedelta(hours=1)

    def order(external_id: str) -> list[int]:
        body = {
            "external_id": external_id,
            "program_id": world.program_id,
            "customer_ref": f"shopper-{external_id}",
            "link_code": link["code"],
            "items": [{"sku": b.TEE, "quantity": 1, "paid_fen": 10_000}],
            "paid_at": paid_at.isoformat(),
        }
        response = client.post("/api/v1/orders", json=body, headers=operator)
        assert response.status_code == 201, response.text
        return [c["amount_fen"] for c in response.json()["commissions"]]

    assert order("reported-at-once") == [300]  # floor(10000 × (1000 + 500) × 2000 / 10^8)
    for change in ({"commission_boost_bp": 0}, {"skus": [b.SHAMPOO]}):
        refused = _patch(client, operator, campaign["id"], change)
        assert (refused.status_code, refused.json()["code"]) == (409, "terms_locked"), change
    assert order("reported-later") == [300]


def test_a_started_campaign_keeps_its_boost_and_products(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], world: b.FeedWorld
) -> None:
    campaign = _live(client, operator, world)
    before = row_counts(factory)
    for change, fields in (
        ({"commission_boost_bp": 0}, ["commission_boost_bp"]),
        ({"commission_boost_bp": 800}, ["commission_boost_bp"]),
        ({"skus": [b.TEE, b.SHAMPOO]}, ["skus"]),
        ({"skus": [b.SHAMPOO], "commission_boost_bp": 100, "name": "换品"}, ["commission_boost_bp", "skus"]),
        ({"skus": ["NO-SUCH-SKU"]}, ["skus"]),  # refused as locked, before anything is looked up
    ):
        refused = _patch(client, operator, campaign["id"], change)
        assert (refused.status_code, refused.json()["code"]) == (409, "terms_locked"), change
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["fields"] == fields
        assert not refused.json()["detail"].isascii()  # translated
        assert "NO-SUCH-SKU" not in refused.text
    english = client.patch(
        f"/api/v1/campaigns/{campaign['id']}",
        json={"commission_boost_bp": 0},
        headers={**operator, "Accept-Language": "en"},
    )
    assert "has started" in english.json()["detail"]
    past = _patch(
        client, operator, campaign["id"], {"ends_at": (utcnow() - timedelta(minutes=1)).isoformat()}
    )
    assert (past.status_code, past.json()["code"]) == (422, "ends_in_past")
    assert row_counts(factory) == before
    assert client.get(f"/api/v1/campaigns/{campaign['id']}", headers=operator).json() == campaign
    # Sending the stored terms back is no change; the name, copy and coupon change as before.
    same = {"commission_boost_bp": campaign["commission_boost_bp"], "skus": campaign["skus"]}
    kept = _patch(
        client, operator, campaign["id"], {**same, "name": "续写", "copy": "再来", "coupon_id": None}
    )
    assert kept.status_code == 200, kept.text
    assert (kept.json()["name"], kept.json()["copy"], kept.json()["commission_boost_bp"]) == (
        "续写",
        "再来",
        b.BOOST_BP,
    )


def test_a_started_campaign_may_end_earlier_or_later(
    client: TestClient, operator: dict[str, str], world: b.FeedWorld
) -> None:
    campaign = _live(client, operator, world)
    now = utcnow().replace(microsecond=0)
    for ends in (now + timedelta(hours=1), now + timedelta(days=9)):
        moved = _patch(client, operator, campaign["id"], {"ends_at": ends.isoformat()})
        assert moved.status_code == 200, moved.text
        assert datetime.fromisoformat(moved.json()["ends_at"]) == ends
    with b.campaigns_clock(now):  # ended now, the earliest
        ended = _patch(client, operator, campaign["id"], {"ends_at": now.isoformat()})
    assert ended.status_code == 200, ended.text
    after = _patch(client, operator, campaign["id"], {"ends_at": (now + timedelta(days=1)).isoformat()})
    assert (after.status_code, after.json()["code"]) == (409, "campaign_ended")


def test_an_upcoming_campaign_still_changes_its_boost_and_products(
    client: TestClient, operator: dict[str, str], world: b.FeedWorld
) -> None:
    now = utcnow().replace(microsecond=0)
    body = b.campaign_body(
        world.program_id,
        starts_at=(now + timedelta(hours=1)).isoformat(),
        ends_at=(now + timedelta(days=2)).isoformat(),
    )
    campaign = b.create_campaign(client, operator, body)
    edited = _patch(client, operator, campaign["id"], {"commission_boost_bp": 0, "skus": [b.SHAMPOO]})
    assert edited.status_code == 200, edited.text
    assert (edited.json()["commission_boost_bp"], edited.json()["skus"]) == (0, [b.SHAMPOO])


def test_a_rate_raised_after_the_start_does_not_lock_the_campaign(
    client: TestClient, operator: dict[str, str], world: b.FeedWorld
) -> None:
    """A 20% boost on a product at 80%, started; the product's rate is raised to 90% since: the boost
    and the product stay as published, and the campaign still ends earlier or changes its name."""
    product = offers.product(client, operator, "RAISED-AFTER", 1000, commission_rate_bp=8000)
    now = utcnow().replace(microsecond=0)
    body = b.campaign_body(
        world.program_id,
        skus=[product["sku"]],
        commission_boost_bp=2000,
        starts_at=(now - timedelta(hours=3)).isoformat(),
        ends_at=(now + timedelta(days=2)).isoformat(),
    )
    campaign = b.create_campaign(client, operator, body)
    raised = client.patch(
        f"/api/v1/products/{product['id']}", json={"commission_rate_bp": 9000}, headers=operator
    )
    assert raised.status_code == 200, raised.text
    ends = now + timedelta(hours=1)
    moved = _patch(client, operator, campaign["id"], {"ends_at": ends.isoformat(), "name": "提前收尾"})
    assert moved.status_code == 200, moved.text
    assert datetime.fromisoformat(moved.json()["ends_at"]) == ends
    assert (moved.json()["commission_boost_bp"], moved.json()["skus"]) == (2000, [product["sku"]])
    # The terms sent back unchanged are no change either; the window is still checked.
    same = {"commission_boost_bp": 2000, "skus": [product["sku"]], "coupon_id": None}
    assert _patch(client, operator, campaign["id"], same).status_code == 200
    past = _patch(client, operator, campaign["id"], {"ends_at": (now - timedelta(hours=1)).isoformat()})
    assert (past.status_code, past.json()["code"]) == (422, "ends_in_past")
