"""A robot message's group price is the price its campaign gives when it is sent: once the link's campaign
is not live (ended, not begun) or its coupon is paused or under review, nobody gets that price, and the
rebuilt text shows the app price only (``push_offers.linked_item``), never a price from the past."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from neigou.campaigns.models import Campaign
from neigou.crm import push_offers
from neigou.crm.models import PushMessage
from neigou.offers.models import CouponTemplate
from tests.campaigns import builders as fb
from tests.crm.push_builders import AT, PushWorld, in_robot_group, push, send_through
from tests.crm.test_push_group_robots import _deliver, _messages, _texts, stubs, world
from tests.robots import Robot

__all__ = ["stubs", "world"]  # the fixtures of the group robot tests
# the robots these tests send to listen on 127.0.0.1
pytestmark = [pytest.mark.usefixtures("push_clock"), pytest.mark.local_receivers]

GROUP_PRICE = "飘柔 去屑洗发水 500ml 群内价 ¥24.90（App 价 ¥49.90）："
APP_PRICE = "飘柔 去屑洗发水 500ml ¥49.90："


def test_a_message_sent_after_its_campaign_ended_shows_the_app_price_only(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    world: PushWorld,
    stubs: list[Robot],
) -> None:
    """Pushed while the campaign runs (the group price in its text), sent after the campaign's end while
    its coupon's own window still runs: the group reads the app price, and so does the stored text."""
    group_robot, _, _ = stubs
    send_through(client, operator, world, "wecom_robot", None)
    in_robot_group(client, factory, world, group_robot.url, [world.wang])
    made = push(client, world, customer_ids=[world.wang], skus=[fb.SHAMPOO])
    assert made["messages"][0]["text"].startswith(GROUP_PRICE)
    after_the_campaign = fb.ENDS + timedelta(days=1)  # the coupon runs until AT + 10 days
    assert _deliver(client, factory, after_the_campaign) == [(world.wang, "sent")]
    (posted,) = _texts(group_robot)
    assert posted.startswith(APP_PRICE)
    assert "24.90" not in posted
    assert _messages(client, world, made["id"])[world.wang]["text"] == posted


def test_the_group_price_only_while_the_campaign_and_its_coupon_run(
    client: TestClient, factory: sessionmaker[Session], world: PushWorld
) -> None:
    """Each state is tried on the message's link and rolled back (one world for all)."""
    made = push(client, world, customer_ids=[world.wang], skus=[fb.SHAMPOO])
    message_id = made["messages"][0]["id"]
    campaign = update(Campaign).where(Campaign.id == world.feed.campaign_id)
    coupon = update(CouponTemplate).where(CouponTemplate.id == world.feed.coupon_id)
    states = {
        "live": None,
        "ended": campaign.values(starts_at=AT - timedelta(days=2), ends_at=AT - timedelta(hours=1)),
        "not begun": campaign.values(starts_at=AT + timedelta(hours=1)),
        "coupon paused": coupon.values(paused=True),
        "coupon under review": coupon.values(live=False),
    }
    prices: dict[str, tuple[int, int]] = {}
    for state, change in states.items():
        with factory() as session:
            if change is not None:
                session.execute(change)
            link_id = session.get_one(PushMessage, message_id).link_id
            item = push_offers.linked_item(session, link_id, base_url="https://neigou.example", at=AT)
            assert item is not None
            prices[state] = (item.price_fen, item.group_price_fen)
            session.rollback()
    assert prices == {state: (4990, 2490 if state == "live" else 4990) for state in states}
