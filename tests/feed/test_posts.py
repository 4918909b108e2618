"""Posts for many groups: one post per group, links made for that group and the campaign, the boost
paid on orders through them inside the window, and delivery by the group's robot."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.feed.delivery import deliver_due
from neigou.kit.db import transaction
from neigou.links.models import ShareLink
from tests.campaigns import builders as b
from tests.conftest import TokenMaker, row_counts
from tests.feed.conftest import app_settings

pytestmark = pytest.mark.world_per_module
ROBOT = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc-123"


@pytest.fixture(scope="module")
def world(
    module_client: TestClient, module_operator: dict[str, str], module_make_token: TokenMaker
) -> b.FeedWorld:
    return b.build(module_client, module_operator, module_make_token)


def _posts(client: TestClient, world: b.FeedWorld, **body: Any) -> Any:
    return client.post(f"/api/v1/members/{world.owner}/posts", json=body, headers=world.owner_headers)


def test_one_post_per_group_with_the_groups_own_links(
    client: TestClient, factory: sessionmaker[Session], world: b.FeedWorld
) -> None:
    response = _posts(client, world, group_ids=world.groups[:2], skus=[b.SHAMPOO, b.TEE], at=b.AT.isoformat())
    assert response.status_code == 201, response.text
    posts = response.json()["posts"]
    assert [p["group_id"] for p in posts] == world.groups[:2]
    codes = set()
    for post in posts:
        assert [link["sku"] for link in post["links"]] == [b.SHAMPOO, b.TEE]
        for link in post["links"]:
            assert link["url"].endswith(f"/l/{link['code']}")
            assert (link["group_id"], link["campaign_id"]) == (post["group_id"], world.campaign_id)
            assert link["url"] in post["text"]
            codes.add(link["code"])
        assert "飘柔 去屑洗发水 500ml" in post["text"]
        assert "券后 ¥24.90" in post["text"]
        assert "App ¥49.90" in post["text"]
        assert "蓬松去屑，一瓶用三个月" in post["text"]
        assert (post["delivery"], post["status"], post["slot"]) == ("task", "to_copy", "now")
    assert len(codes) == 4
    with factory() as session:
        stored = session.scalars(select(ShareLink).where(ShareLink.code.in_(codes))).all()
        assert {(s.group_id, s.campaign_id, s.coupon_id) for s in stored} == {
            (world.groups[0], world.campaign_id, world.coupon_id),
            (world.groups[1], world.campaign_id, world.coupon_id),
        }
    listed = client.get(f"/api/v1/members/{world.owner}/posts", headers=world.owner_headers).json()
    assert {p["id"] for p in listed} == {p["id"] for p in posts}
    assert all((p["clicks"], p["claims"], p["orders"]) == (0, 0, 0) for p in listed)


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"group_ids": ["OTHER"], "skus": [b.SHAMPOO]}, 404, "group_not_found"),
        ({"group_ids": [999_999], "skus": [b.SHAMPOO]}, 404, "group_not_found"),
        ({"group_ids": ["MINE", "MINE"], "skus": [b.SHAMPOO]}, 422, "duplicate_group"),
        ({"group_ids": ["MINE"], "skus": ["NOT-IN-FEED"]}, 422, "not_in_feed"),
        ({"group_ids": ["MINE"], "skus": [b.SHAMPOO, b.SHAMPOO]}, 422, "duplicate_sku"),
        ({"group_ids": ["MINE"], "skus": [b.SHAMPOO], "at": "ENDED"}, 422, "not_in_feed"),
        ({"group_ids": [], "skus": [b.SHAMPOO]}, 422, "validation_error"),
        ({"group_ids": ["MINE"], "skus": [b.SHAMPOO], "slot": "midnight"}, 422, "validation_error"),
    ],
)
def test_bad_posts_are_refused_and_write_nothing(
    *,
    client: TestClient,
    factory: sessionmaker[Session],
    world: b.FeedWorld,
    body: dict[str, Any],
    status: int,
    code: str,
) -> None:
    body = {
        **body,
        "group_ids": [
            {"OTHER": world.other_group, "MINE": world.groups[0]}.get(g, g) for g in body["group_ids"]
        ],
        "at": b.ENDS.isoformat() if body.get("at") == "ENDED" else b.AT.isoformat(),
    }
    before = row_counts(factory)
    response = _posts(client, world, **body)
    assert (response.status_code, response.json()["code"]) == (status, code), response.text
    assert row_counts(factory) == before


def test_an_order_through_a_post_link_earns_the_boost_inside_the_window(
    client: TestClient, operator: dict[str, str], world: b.FeedWorld
) -> None:
    post = _posts(client, world, group_ids=[world.groups[0]], skus=[b.SHAMPOO], at=b.AT.isoformat()).json()
    code = post["posts"][0]["links"][0]["code"]

    def order(external_id: str, paid_at: Any) -> dict[str, Any]:
        body = {
            "external_id": external_id,
            "program_id": world.program_id,
            "customer_ref": f"shopper-{external_id}",
            "link_code": code,
            "items": [{"sku": b.SHAMPOO, "quantity": 1, "paid_fen": 2490}],
            "paid_at": paid_at.isoformat(),
        }
        response = client.post("/api/v1/orders", json=body, headers=operator)
        assert response.status_code == 201, response.text
        out: dict[str, Any] = response.json()
        return out

    inside = order("boosted-1", b.AT + timedelta(hours=1))
    assert inside["group_id"] == world.groups[0]
    # floor(2490 × (2000 + 500) × 2000 / 10^8) — exactly the feed's estimate
    assert [(c["member_id"], c["amount_fen"]) for c in inside["commissions"]] == [(world.owner, 124)]
    after = order("late-1", b.ENDS + timedelta(minutes=1))
    assert [c["amount_fen"] for c in after["commissions"]] == [99]  # floor(2490 × 2000 × 2000 / 10^8)
    listed = client.get(f"/api/v1/members/{world.owner}/posts", headers=world.owner_headers).json()
    mine = next(p for p in listed if p["id"] == post["posts"][0]["id"])
    assert mine["orders"] == 2


def test_robot_groups_get_their_posts_at_the_slot(
    client: TestClient, factory: sessionmaker[Session], world: b.FeedWorld
) -> None:
    robot = client.put(
        f"/api/v1/groups/{world.groups[2]}/robot", json={"webhook_url": ROBOT}, headers=world.owner_headers
    )
    assert robot.json() == {"group_id": world.groups[2], "configured": True}
    made = _posts(
        client, world, group_ids=[world.groups[2]], skus=[b.TEE], at=b.AT.isoformat(), slot="evening"
    )
    post = made.json()["posts"][0]
    assert (post["delivery"], post["status"]) == ("robot", "scheduled")
    assert post["scheduled_at"] == "2026-03-24T12:00:00Z"  # 20:00 in Shanghai
    sent: list[dict[str, Any]] = []

    def robot_answer(request: httpx.Request) -> httpx.Response:
        sent.append({"url": str(request.url), "body": request.read().decode()})
        return httpx.Response(200, json={"errcode": 0, "errmsg": "ok"})

    transport = httpx.MockTransport(robot_answer)
    with transaction(factory) as session:
        assert (
            deliver_due(
                session, at=b.AT + timedelta(hours=7), settings=app_settings(client), transport=transport
            )
            == []
        )
    with transaction(factory) as session:
        done = deliver_due(
            session, at=b.AT + timedelta(hours=8), settings=app_settings(client), transport=transport
        )
        assert [(p.id, p.status.value) for p in done] == [(post["id"], "sent")]
    assert len(sent) == 1
    assert sent[0]["url"] == ROBOT
    assert "衣朵 纯棉圆领T恤" in sent[0]["body"]


def test_a_task_post_is_marked_copied(client: TestClient, world: b.FeedWorld) -> None:
    post = _posts(client, world, group_ids=[world.groups[1]], skus=[b.TEE], at=b.AT.isoformat()).json()[
        "posts"
    ][0]
    done = client.post(
        f"/api/v1/members/{world.owner}/posts/{post['id']}/copied", headers=world.owner_headers
    )
    assert done.json()["status"] == "copied"
    missing = client.post(f"/api/v1/members/{world.owner}/posts/999999/copied", headers=world.owner_headers)
    assert (missing.status_code, missing.json()["code"]) == (404, "post_not_found")


def test_robot_urls_must_be_wecom_robots(client: TestClient, world: b.FeedWorld) -> None:
    bad = client.put(
        f"/api/v1/groups/{world.groups[0]}/robot",
        json={"webhook_url": "http://169.254.169.254/latest"},
        headers=world.owner_headers,
    )
    assert (bad.status_code, bad.json()["code"]) == (422, "validation_error")
    other = client.put(
        f"/api/v1/groups/{world.other_group}/robot", json={"webhook_url": ROBOT}, headers=world.owner_headers
    )
    assert (other.status_code, other.json()["code"]) == (403, "other_member")
