"""A live code whose groups are all full alerts its owner outside the app, once per full spell: the
program's integrations get ``group.live_code_full`` and the first group with a robot a message
(retries: ``test_full_alert_retries``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.feed import robots
from neigou.groups.models import LiveCodeAlert, RobotAlertStatus
from neigou.integrations.models import WebhookDelivery
from neigou.kit.db import transaction
from neigou.kit.jobs import JobRun
from tests.conftest import TEST_ACTOR, TokenMaker, bearer
from tests.factories import create_member, create_program
from tests.feed.conftest import app_sealer
from tests.groups.builders import create_group, post_count
from tests.integrations.test_webhooks import Receiver
from tests.robots import Robot

# the robots and receivers these tests send to listen on 127.0.0.1
pytestmark = pytest.mark.local_receivers

NOW = datetime.now(UTC)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def test_every_group_full_is_announced_once_per_spell(
    *,
    client: TestClient,
    operator: dict[str, str],
    make_token: TokenMaker,
    factory: sessionmaker[Session],
    receiver: Receiver,
    robot: Robot,
) -> None:
    program = create_program(client, operator, code="full-alerts")
    owner = create_member(client, operator, program["id"], "群主")
    groups = [create_group(client, operator, owner["id"], name=f"福利{n}群")["id"] for n in (1, 2)]
    hook = client.post(
        f"/api/v1/programs/{program['id']}/integrations",
        json={"name": "品牌商城", "outbound_url": receiver.url},
        headers=operator,
    )
    assert hook.status_code == 201, hook.text
    created = client.post(
        "/api/v1/groups/live-codes",
        json={"owner_member_id": owner["id"], "group_ids": groups, "capacity": 10},
        headers=bearer(make_token("member", owner["id"])),
    )
    code = created.json()["code"]
    for group_id, size in zip(groups, (10, 12), strict=True):
        assert (
            post_count(client, operator, group_id, size, (NOW - timedelta(hours=2)).isoformat()).status_code
            == 201
        )
    for _ in range(3):
        assert "data-group-id" not in client.get(f"/g/{code}").text

    with factory() as session:
        [delivery] = session.scalars(select(WebhookDelivery)).all()
        [alert] = session.scalars(select(LiveCodeAlert)).all()
        robot_jobs = session.scalars(select(JobRun.key).where(JobRun.name == "feed.live_code_full")).all()
    assert delivery.event_type == "group.live_code_full"
    data = delivery.payload["data"]
    assert data == {
        "alert_id": alert.id,
        "program_id": program["id"],
        "live_code": code,
        "owner_member_id": owner["id"],
        "capacity": 10,
        "groups": [{"group_id": groups[0], "members": 10}, {"group_id": groups[1], "members": 12}],
        "full_since": data["full_since"],
    }
    assert robot_jobs == [f"live-code-full:{alert.id}"]
    [(headers, body)] = receiver.received
    assert headers["webhook-id"] == delivery.event_id
    assert json.loads(body)["type"] == "group.live_code_full"

    # Room again ends the spell; filling up again is a new spell and a new announcement. The first
    # spell had no robot (alerted in the app only); the second goes to the first group, in rotation
    # order, that has one.
    with transaction(factory) as session:
        robots.set_robot(
            session,
            group_id=groups[1],
            webhook_url=robot.url,
            sealer=app_sealer(client),
            actor=TEST_ACTOR,
            at=NOW,
        )
    assert (
        post_count(client, operator, groups[0], 8, (NOW - timedelta(hours=1)).isoformat()).status_code == 201
    )
    assert client.get(f"/g/{code}").text.count(f'data-group-id="{groups[0]}"') == 1
    assert (
        post_count(client, operator, groups[0], 11, (NOW - timedelta(minutes=30)).isoformat()).status_code
        == 201
    )
    client.get(f"/g/{code}")
    client.get(f"/g/{code}")
    with factory() as session:
        types = session.scalars(select(WebhookDelivery.event_type)).all()
        first, second = session.scalars(select(LiveCodeAlert).order_by(LiveCodeAlert.id)).all()
    assert types == ["group.live_code_full", "group.live_code_full"]
    assert len(receiver.received) == 2
    assert (first.robot_status, first.robot_attempts) == (RobotAlertStatus.NO_ROBOT, 0)
    assert (second.robot_status, second.robot_attempts, second.robot_detail) == (
        RobotAlertStatus.SENT,
        1,
        "ok",
    )
    [sent] = robot.received
    assert sent["path"] == "/cgi-bin/webhook/send?key=robot-key"
    assert sent["body"]["markdown"]["content"].splitlines() == [
        f"**活码 {code} 的群都满了**",
        "每群上限 10 人，新访客已看到满群提示。请新建一个群，加入活码并上传它的群二维码。",
        "> 福利1群：11 人",
        "> 福利2群：12 人",
    ]
