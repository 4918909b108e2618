"""Publishing campaigns: exact answers, and every refusal writes nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.clock import utcnow
from tests.campaigns import builders as b
from tests.conftest import TokenMaker, row_counts

pytestmark = pytest.mark.world_per_module


@pytest.fixture(scope="module")
def world(
    module_client: TestClient, module_operator: dict[str, str], module_make_token: TokenMaker
) -> b.FeedWorld:
    return b.build(module_client, module_operator, module_make_token)


def test_a_campaign_is_published_with_its_skus_in_order(
    client: TestClient, operator: dict[str, str], world: b.FeedWorld
) -> None:
    body = b.campaign_body(world.program_id, skus=[b.TEE], copy=None)
    created = b.create_campaign(client, operator, body)
    assert isinstance(created["id"], int)
    assert created["skus"] == [b.TEE]
    assert created["commission_boost_bp"] == b.BOOST_BP
    assert created["copy"] is None
    listed = client.get(f"/api/v1/campaigns?program_id={world.program_id}", headers=operator)
    assert listed.status_code == 200
    assert {c["id"] for c in listed.json()} == {created["id"], world.campaign_id}
    one = client.get(f"/api/v1/campaigns/{world.campaign_id}", headers=operator).json()
    assert one["skus"] == [b.SHAMPOO, b.TEE]
    assert one["coupon_id"] == world.coupon_id
    assert one["copy"] == "蓬松去屑，一瓶用三个月"


def test_live_at_keeps_the_campaigns_live_then(
    client: TestClient, operator: dict[str, str], world: b.FeedWorld
) -> None:
    live = client.get("/api/v1/campaigns", params={"live_at": b.AT.isoformat()}, headers=operator).json()
    assert [c["id"] for c in live] == [world.campaign_id]
    later = client.get("/api/v1/campaigns", params={"live_at": b.ENDS.isoformat()}, headers=operator).json()
    assert later == []


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"skus": ["NO-SUCH-SKU"]}, 422, "unknown_sku"),
        ({"skus": [b.TEE, b.TEE]}, 422, "duplicate_sku"),
        ({"ends_at": b.STARTS.isoformat()}, 422, "invalid_window"),
        ({"commission_boost_bp": 9000}, 422, "boost_too_high"),
        ({"commission_boost_bp": -1}, 422, "validation_error"),
        ({"coupon_id": "COUPON"}, 422, "coupon_not_for_sku"),
        ({"coupon_id": 999_999}, 422, "unknown_coupon"),
        ({"brand_id": 999_999}, 422, "unknown_brand"),
        ({"program_id": 999_999}, 404, "program_not_found"),
        ({"starts_at": "2026-03-24T10:00:00"}, 422, "validation_error"),
    ],
)
def test_bad_campaigns_are_refused_and_write_nothing(
    *,
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    world: b.FeedWorld,
    change: dict[str, Any],
    status: int,
    code: str,
) -> None:
    if change.get("coupon_id") == "COUPON":  # the hidden coupon covers the shampoo only
        change = {"coupon_id": world.coupon_id, "skus": [b.TEE]}
    before = row_counts(factory)
    body = {**b.campaign_body(world.program_id), **change}
    response = client.post("/api/v1/campaigns", json=body, headers=operator)
    assert (response.status_code, response.json()["code"]) == (status, code), response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert row_counts(factory) == before


def test_a_campaign_that_has_already_ended_or_starts_in_the_past_is_refused(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], world: b.FeedWorld
) -> None:
    now = utcnow().replace(microsecond=0)
    before = row_counts(factory)
    for ends in (now - timedelta(days=1), now - timedelta(seconds=1)):
        body = b.campaign_body(
            world.program_id, starts_at=(now - timedelta(days=2)).isoformat(), ends_at=ends.isoformat()
        )
        refused = client.post("/api/v1/campaigns", json=body, headers=operator)
        assert (refused.status_code, refused.json()["code"]) == (422, "ends_in_past"), refused.text
    assert row_counts(factory) == before
    # Nor can one start in the past, as an edit of one that has not started cannot: a start more than
    # five minutes back (DEFAULT_SKEW, a clock a little behind ours) is refused, one within them is now.
    for starts in (now - timedelta(days=2 * 365), now - timedelta(minutes=6)):
        body = b.campaign_body(
            world.program_id, starts_at=starts.isoformat(), ends_at=(now + timedelta(days=1)).isoformat()
        )
        refused = client.post("/api/v1/campaigns", json=body, headers={**operator, "accept-language": "en"})
        assert (refused.status_code, refused.json()["code"]) == (422, "starts_in_past"), refused.text
        assert refused.json()["detail"] == "A campaign cannot start in the past."
    assert row_counts(factory) == before
    body = b.campaign_body(
        world.program_id,
        starts_at=(now - timedelta(minutes=4)).isoformat(),
        ends_at=(now + timedelta(days=1)).isoformat(),
    )
    assert client.post("/api/v1/campaigns", json=body, headers=operator).status_code == 201
