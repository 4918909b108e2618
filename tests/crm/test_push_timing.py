"""When a push's messages go out decides what they say and which retry is the same push: a push made
inside quiet hours is priced at their end, when its messages really go out, and a retry under the same
Idempotency-Key that asks for another time is another push (409)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.crm import push_endpoints
from tests.campaigns import builders as fb
from tests.conftest import TokenMaker, row_counts
from tests.crm import push_builders as pb
from tests.crm.push_builders import AT, PushWorld, push
from tests.offers import factories as offers

pytestmark = [pytest.mark.world_per_module, pytest.mark.usefixtures("push_clock")]
MASK = "QH-MASK"  # ¥39.90, ¥29.90 in the group through a campaign that ends 23:59 in Shanghai
LAST_MINUTE = AT + timedelta(hours=11, minutes=59)  # 23:59 in Shanghai
NIGHT = AT + timedelta(hours=11)  # 23:00 in Shanghai, inside the quiet hours 22:00-08:00


@pytest.fixture(scope="module")
def world(
    module_client: TestClient,
    module_operator: dict[str, str],
    module_make_token: TokenMaker,
    module_factory: sessionmaker[Session],
) -> PushWorld:
    built = pb.build(module_client, module_operator, module_make_token, module_factory)
    offers.product(module_client, module_operator, MASK, 3990, title="面膜")
    coupon = offers.coupon(
        module_client,
        module_operator,
        1000,
        skus=[MASK],
        visibility="hidden",
        starts_at=(AT - timedelta(days=1)).isoformat(),
        ends_at=(AT + timedelta(days=10)).isoformat(),
    )
    body = fb.campaign_body(
        built.feed.program_id,
        name="今晚限时",
        skus=[MASK],
        coupon_id=coupon["id"],
        ends_at=LAST_MINUTE.isoformat(),
    )
    fb.create_campaign(module_client, module_operator, body)
    return built


def test_a_push_held_back_by_quiet_hours_is_priced_when_it_goes_out(
    client: TestClient, world: PushWorld
) -> None:
    made = push(client, world, customer_ids=[world.wang], skus=[MASK], at=NIGHT.isoformat())
    message = made["messages"][0]
    assert message["send_at"] == "2026-03-25T00:00:00Z"  # 08:00 the next day, the campaign long over
    assert "群内价" not in message["text"]
    assert "¥29.90" not in message["text"]
    assert "¥39.90" in message["text"]


def test_the_same_key_for_another_time_is_refused(
    client: TestClient, factory: sessionmaker[Session], world: PushWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = {**world.feed.owner_headers, "Idempotency-Key": "push-time-1"}
    tomorrow = (AT + timedelta(days=1)).isoformat()
    first = push(client, world, headers=key, customer_ids=[world.li], skus=[fb.TEE], at=tomorrow)
    before = row_counts(factory)
    assert push(client, world, headers=key, customer_ids=[world.li], skus=[fb.TEE], at=tomorrow) == first
    for other in ((AT + timedelta(days=2)).isoformat(), None):
        refused = push(client, world, 409, headers=key, customer_ids=[world.li], skus=[fb.TEE], at=other)
        assert refused["code"] == "idempotency_key_reused"
    # Retried after its time has come, the same ``at`` is still the same push.
    monkeypatch.setattr(push_endpoints, "utcnow", lambda: AT + timedelta(days=3))
    assert push(client, world, headers=key, customer_ids=[world.li], skus=[fb.TEE], at=tomorrow) == first
    assert row_counts(factory) == before


def test_a_push_for_now_retried_later_is_the_same_push(
    client: TestClient, factory: sessionmaker[Session], world: PushWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = {**world.feed.owner_headers, "Idempotency-Key": "push-time-2"}
    first = push(client, world, headers=key, customer_ids=[world.wang], skus=[fb.SHAMPOO], at=None)
    before = row_counts(factory)
    monkeypatch.setattr(push_endpoints, "utcnow", lambda: AT + timedelta(minutes=5))
    for at in (None, AT.isoformat()):
        again = push(client, world, headers=key, customer_ids=[world.wang], skus=[fb.SHAMPOO], at=at)
        assert again == first
    later = (AT + timedelta(hours=1)).isoformat()
    refused = push(client, world, 409, headers=key, customer_ids=[world.wang], skus=[fb.SHAMPOO], at=later)
    assert refused["code"] == "idempotency_key_reused"
    assert row_counts(factory) == before
