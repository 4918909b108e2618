"""A post longer than its group can take is refused before anything is written: a robot's message is at
most 4096 bytes of UTF-8 (WeCom), and every post's text at most 4000 characters (its column)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.campaigns import builders as b
from tests.conftest import TokenMaker, bearer, row_counts
from tests.factories import create_member, create_program
from tests.groups.builders import create_group
from tests.offers import factories as offers
from tests.sign_in import member_sign_in

pytestmark = pytest.mark.world_per_module
ROBOT = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=length-1"
SHORT = [f"LEN-S{n:02d}" for n in range(12)]  # ~90 characters of Chinese copy each
LONG = [f"LEN-L{n}" for n in range(4)]  # 1000 characters of copy each
SHORT_COPY = "好用不贵" * 22 + "快来"  # 90 characters, 270 bytes
LONG_COPY = "限" * 1000
# Live at the suite's post time and now (the builder page posts now).
ENDS = (datetime.now(UTC) + timedelta(days=2)).isoformat()


@pytest.fixture(scope="module")
def world(
    module_client: TestClient, module_operator: dict[str, str], module_make_token: TokenMaker
) -> dict[str, Any]:
    client, operator = module_client, module_operator
    program = create_program(client, operator, code="post-length")
    joined = "2026-01-01T00:00:00+08:00"
    owner = create_member(client, operator, program["id"], "owner", tier="super_member", joined_at=joined)
    robot_group, task_group = (
        create_group(client, operator, owner["id"], name=name)["id"] for name in ("机器人群", "手发群")
    )
    for sku in SHORT + LONG:
        offers.product(client, operator, sku, 1990, title=f"商品{sku}")
    b.create_campaign(
        client, operator, b.campaign_body(program["id"], skus=SHORT, copy=SHORT_COPY, ends_at=ENDS)
    )
    b.create_campaign(
        client, operator, b.campaign_body(program["id"], skus=LONG, copy=LONG_COPY, ends_at=ENDS)
    )
    token = module_make_token("member", owner["id"])
    headers = bearer(token)
    robot = client.put(f"/api/v1/groups/{robot_group}/robot", json={"webhook_url": ROBOT}, headers=headers)
    assert robot.status_code == 200, robot.text
    return {
        "owner": owner["id"],
        "robot": robot_group,
        "task": task_group,
        "headers": headers,
        "token": token,
    }


def _posts(client: TestClient, world: dict[str, Any], group: str, skus: list[str]) -> Any:
    body = {"group_ids": [world[group]], "skus": skus, "at": b.AT.isoformat()}
    return client.post(f"/api/v1/members/{world['owner']}/posts", json=body, headers=world["headers"])


def test_a_robot_post_past_4096_bytes_is_refused_and_writes_nothing(
    client: TestClient, factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    before = row_counts(factory)
    response = _posts(client, world, "robot", SHORT)
    assert (response.status_code, response.json()["code"]) == (422, "post_too_long"), response.text
    fit = response.json()["fit"]
    assert 0 < fit < len(SHORT)
    assert f"{fit}" in response.json()["detail"]
    assert SHORT_COPY not in response.text
    assert row_counts(factory) == before
    # As many as it says fit go out, within the robot's limit; the same products by hand fit the column.
    made = _posts(client, world, "robot", SHORT[:fit])
    assert made.status_code == 201, made.text
    assert len(made.json()["posts"][0]["text"].encode()) <= 4096
    assert _posts(client, world, "task", SHORT).status_code == 201


def test_a_post_past_4000_characters_is_refused_for_any_delivery(
    client: TestClient, factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    before = row_counts(factory)
    response = _posts(client, world, "task", LONG)
    assert (response.status_code, response.json()["code"]) == (422, "post_too_long"), response.text
    assert response.json()["fit"] == 3
    assert LONG_COPY[:50] not in response.text
    assert row_counts(factory) == before
    made = _posts(client, world, "task", LONG[:3])
    assert made.status_code == 201, made.text
    assert len(made.json()["posts"][0]["text"]) <= 4000


def test_the_builder_page_shows_the_refusal(client: TestClient, world: dict[str, Any]) -> None:
    member_sign_in(client, world["token"])
    form = {"sku": LONG, "group_id": [world["task"]], "slot": "now"}
    page = client.post("/m/posts", data=form, follow_redirects=True)
    assert page.status_code == 200, page.text
    assert "text/html" in page.headers["content-type"]
    assert "这条群发内容太长" in page.text
    assert LONG_COPY[:50] not in page.text.split("post-error")[1]
