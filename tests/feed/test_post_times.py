"""A post dated in the past is made from the feed as it is when it is made, never from the feed of that
past time: an ended campaign's price and coupon are not posted, and a past time is no slot that has come."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.feed.models import GroupPost
from tests.campaigns import builders as b
from tests.conftest import TokenMaker

AFTER = b.ENDS + timedelta(days=1)  # the world's campaign (¥24.90 with its hidden coupon) has ended


def _post(client: TestClient, world: b.FeedWorld, **body: Any) -> Any:
    body = {"group_ids": world.groups[:1], "skus": [b.SHAMPOO], "at": b.AT.isoformat(), **body}
    return client.post(f"/api/v1/members/{world.owner}/posts", json=body, headers=world.owner_headers)


def _posts(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        return session.scalar(select(func.count()).select_from(GroupPost)) or 0


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def test_a_post_dated_in_an_ended_campaign_carries_todays_price(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker
) -> None:
    world = b.build(client, operator, make_token)
    later = b.create_campaign(
        client,
        operator,
        b.campaign_body(
            world.program_id,
            name="日常价",
            skus=[b.SHAMPOO],
            starts_at=b.ENDS.isoformat(),
            ends_at=(b.ENDS + timedelta(days=30)).isoformat(),
            copy="日常价，不用券",
        ),
    )
    with b.posts_clock(AFTER):
        made = _post(client, world)
    assert made.status_code == 201, made.text
    [post] = made.json()["posts"]
    assert [link["campaign_id"] for link in post["links"]] == [later["id"]]
    assert "日常价，不用券" in post["text"]
    assert "¥24.90" not in post["text"]  # the ended campaign's coupon price
    assert "蓬松去屑" not in post["text"]  # the ended campaign's copy
    assert _at(post["scheduled_at"]) == AFTER  # sent now, not at the past time


def test_a_post_dated_in_an_ended_campaign_is_refused_when_nothing_is_live(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    world = b.build(client, operator, make_token)
    with b.posts_clock(AFTER):
        refused = _post(client, world)
    assert (refused.status_code, refused.json()["code"]) == (422, "not_in_feed")
    assert _posts(factory) == 0


def test_a_past_time_schedules_the_slot_from_now(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker
) -> None:
    world = b.build(client, operator, make_token)
    now = b.AT + timedelta(hours=10)  # 22:00 in Shanghai: this evening's slot has passed
    with b.posts_clock(now):
        made = _post(client, world, slot="evening")
        later = _post(client, world, slot="now", at=(now + timedelta(hours=1)).isoformat())
    assert made.status_code == 201, made.text
    [post] = made.json()["posts"]
    assert _at(post["scheduled_at"]) == datetime(2026, 3, 25, 12, 0, tzinfo=UTC)  # tomorrow 20:00
    assert "¥24.90" in post["text"]  # the campaign is still live now
    assert later.status_code == 201, later.text
    assert _at(later.json()["posts"][0]["scheduled_at"]) == now + timedelta(hours=1)  # a later time stays
