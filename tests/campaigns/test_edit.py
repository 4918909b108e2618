"""Editing campaigns (PATCH /campaigns/{id}): an upcoming campaign changes whole, a live one keeps its
start, an ended one is history; every refusal writes nothing and every edit is audited."""

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


def _campaign(
    client: TestClient, operator: dict[str, str], world: b.FeedWorld, **window: Any
) -> dict[str, Any]:
    """A campaign of both products with the hidden coupon, in ``window`` (starts/ends hours from now)."""
    now = utcnow().replace(microsecond=0)
    body = b.campaign_body(
        world.program_id,
        coupon_id=world.coupon_id,
        starts_at=(now + timedelta(hours=window.get("starts", 1))).isoformat(),
        ends_at=(now + timedelta(hours=window.get("ends", 48))).isoformat(),
    )
    return b.create_campaign(client, operator, body)


def _patch(client: TestClient, headers: dict[str, str], campaign_id: int, body: dict[str, Any]) -> Any:
    return client.patch(f"/api/v1/campaigns/{campaign_id}", json=body, headers=headers)


def test_an_upcoming_campaign_is_edited_whole_and_audited(
    client: TestClient, operator: dict[str, str], world: b.FeedWorld
) -> None:
    campaign = _campaign(client, operator, world, starts=24, ends=72)
    starts = utcnow().replace(microsecond=0) + timedelta(hours=2)
    change = {
        "name": "周中洗护节",
        "skus": [b.TEE, b.SHAMPOO],
        "commission_boost_bp": 300,
        "starts_at": starts.isoformat(),
        "ends_at": (starts + timedelta(days=1)).isoformat(),
        "copy": "周中也有好价",
    }
    response = _patch(client, operator, campaign["id"], change)
    assert response.status_code == 200, response.text
    edited = response.json()
    assert edited["name"] == "周中洗护节"
    assert edited["skus"] == [b.TEE, b.SHAMPOO]
    assert edited["commission_boost_bp"] == 300
    assert edited["copy"] == "周中也有好价"
    assert edited["coupon_id"] == world.coupon_id  # left out: unchanged
    stored = client.get(f"/api/v1/campaigns/{campaign['id']}", headers=operator).json()
    assert stored == edited
    dropped = _patch(client, operator, campaign["id"], {"coupon_id": None, "copy": None, "skus": [b.TEE]})
    assert dropped.status_code == 200, dropped.text
    assert (dropped.json()["coupon_id"], dropped.json()["copy"], dropped.json()["skus"]) == (
        None,
        None,
        [b.TEE],
    )
    audit = client.get(
        "/api/v1/audit-log", params={"entity": "campaign", "entity_id": campaign["id"]}, headers=operator
    ).json()
    assert [e["action"] for e in audit] == ["campaign.update", "campaign.update", "campaign.create"]
    assert audit[1]["before"]["name"] == "周末洗护节"
    assert audit[1]["after"]["skus"] == [b.TEE, b.SHAMPOO]
    assert audit[0]["after"]["coupon_id"] is None


def test_a_live_campaign_keeps_its_start(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], world: b.FeedWorld
) -> None:
    campaign = _campaign(client, operator, world, starts=-2, ends=24)
    before = row_counts(factory)
    later = utcnow() + timedelta(hours=1)
    moved = _patch(client, operator, campaign["id"], {"starts_at": later.isoformat()})
    assert (moved.status_code, moved.json()["code"]) == (409, "campaign_started")
    past = _patch(client, operator, campaign["id"], {"ends_at": (utcnow() - timedelta(hours=1)).isoformat()})
    assert (past.status_code, past.json()["code"]) == (422, "ends_in_past")
    assert row_counts(factory) == before
    same = {
        "starts_at": campaign["starts_at"],
        "ends_at": (later + timedelta(days=3)).isoformat(),
        "name": "延长",
    }
    kept = _patch(client, operator, campaign["id"], same)
    assert kept.status_code == 200, kept.text
    assert kept.json()["starts_at"] == campaign["starts_at"]
    assert kept.json()["name"] == "延长"


def test_an_ended_campaign_cannot_be_edited(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], world: b.FeedWorld
) -> None:
    before = row_counts(factory)
    ended = _patch(client, operator, world.campaign_id, {"name": "不能改"})  # the world's ran in March
    assert (ended.status_code, ended.json()["code"]) == (409, "campaign_ended")
    assert ended.headers["content-type"] == "application/problem+json"
    assert row_counts(factory) == before


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"skus": ["NO-SUCH-SKU"]}, 422, "unknown_sku"),
        ({"skus": [b.TEE, b.TEE]}, 422, "duplicate_sku"),
        ({"skus": []}, 422, "validation_error"),
        ({"ends_at": "START"}, 422, "invalid_window"),
        ({"commission_boost_bp": 9000}, 422, "boost_too_high"),
        ({"commission_boost_bp": 10_001}, 422, "validation_error"),
        ({"skus": [b.TEE]}, 422, "coupon_not_for_sku"),
        ({"coupon_id": 999_999}, 422, "unknown_coupon"),
        ({"starts_at": "2026-12-24T10:00:00"}, 422, "validation_error"),
        ({"program_id": 1}, 422, "validation_error"),
        ({"name": ""}, 422, "validation_error"),
    ],
)
def test_bad_edits_are_refused_and_write_nothing(
    *,
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    world: b.FeedWorld,
    change: dict[str, Any],
    status: int,
    code: str,
) -> None:
    campaign = _campaign(client, operator, world, starts=24, ends=72)
    if change.get("ends_at") == "START":
        change = {"ends_at": campaign["starts_at"]}
    before = row_counts(factory)
    response = _patch(client, operator, campaign["id"], change)
    assert (response.status_code, response.json()["code"]) == (status, code), response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert row_counts(factory) == before
    assert client.get(f"/api/v1/campaigns/{campaign['id']}", headers=operator).json() == campaign


def test_an_unknown_campaign_is_a_404(
    client: TestClient, operator: dict[str, str], world: b.FeedWorld
) -> None:
    missing = _patch(client, operator, 999_999, {"name": "无"})
    assert (missing.status_code, missing.json()["code"]) == (404, "campaign_not_found")
    member = _patch(client, world.owner_headers, world.campaign_id, {"name": "无"})
    assert member.status_code == 403


def test_an_upcoming_campaign_cannot_move_into_the_past(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], world: b.FeedWorld
) -> None:
    campaign = _campaign(client, operator, world, starts=24, ends=72)
    now = utcnow().replace(microsecond=0)
    before = row_counts(factory)
    for change, code in (
        ({"starts_at": now - timedelta(days=30), "ends_at": now - timedelta(days=29)}, "ends_in_past"),
        ({"ends_at": now - timedelta(hours=1)}, "ends_in_past"),
        ({"starts_at": now - timedelta(hours=1)}, "starts_in_past"),
    ):
        body = {field: at.isoformat() for field, at in change.items()}
        refused = _patch(client, operator, campaign["id"], body)
        assert (refused.status_code, refused.json()["code"]) == (422, code), body
        assert refused.json()["detail"].isascii() is False  # translated, and quotes no time typed
        assert "T" not in refused.json()["detail"]
    assert row_counts(factory) == before
    # A clock a little behind ours: a start a minute ago is now.
    started = _patch(
        client, operator, campaign["id"], {"starts_at": (now - timedelta(minutes=1)).isoformat()}
    )
    assert started.status_code == 200, started.text
