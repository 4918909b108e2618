"""Quiet hours hold at delivery too: a message whose next attempt (a retry, a backlog) comes inside the
program's current quiet hours is neither claimed nor sent; its next attempt moves to their end, and no
attempt is taken."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.crm.models import PushMessage
from neigou.crm.push_delivery import deliver_due
from neigou.crm.push_due import next_attempt_at
from neigou.kit.db import transaction
from neigou.kit.settings import Settings
from tests.campaigns import builders as fb
from tests.crm.push_builders import AT, PushWorld, in_robot_group, push, send_through

pytestmark = [pytest.mark.world_per_module, pytest.mark.usefixtures("push_clock")]
ROBOT = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc-123"


@pytest.fixture(scope="module")
def world(
    world: PushWorld,
    module_client: TestClient,
    module_operator: dict[str, str],
    module_factory: sessionmaker[Session],
) -> PushWorld:
    """The push world, its pushes sent through the robot of the customers' own group, quiet 22:00-08:00 (the defaults)."""
    in_robot_group(module_client, module_factory, world, ROBOT)  # the owner's customers' own group's robot
    return send_through(module_client, module_operator, world, "wecom_robot", "")


def test_a_retry_due_in_quiet_hours_waits_for_their_end(
    client: TestClient, factory: sessionmaker[Session], world: PushWorld
) -> None:
    day = AT - timedelta(hours=12)  # 00:00 in Shanghai (UTC + 8 h) that starts AT's day
    due = day + timedelta(hours=21, minutes=50)  # 21:50 local
    made = push(client, world, customer_ids=[world.wang], skus=[fb.TEE], at=due.isoformat())
    sent: list[httpx.Request] = []

    def robot(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(500)

    transport = httpx.MockTransport(robot)
    running: Settings = client.app.state.settings  # type: ignore[attr-defined]
    with transaction(factory) as session:
        for wait in (timedelta(0), timedelta(seconds=30), timedelta(minutes=2, seconds=30)):
            assert len(deliver_due(session, at=due + wait, settings=running, transport=transport)) == 1
        assert len(sent) == 3
        retry = due + timedelta(minutes=10, seconds=30)  # 22:00:30 local
        assert deliver_due(session, at=retry, settings=running, transport=transport) == []
        message = session.get(PushMessage, made["messages"][0]["id"])
        assert message is not None
        session.refresh(message)
        morning = day + timedelta(days=1, hours=8)  # 08:00 local, the next day
        assert (message.status.value, message.attempts, message.sent_at) == ("pending", 3, None)
        assert next_attempt_at(message) == morning
        assert (
            deliver_due(session, at=morning - timedelta(seconds=1), settings=running, transport=transport)
            == []
        )
        assert len(sent) == 3
        done = deliver_due(session, at=morning, settings=running, transport=transport)
        assert [(m.status.value, m.attempts) for m in done] == [("pending", 4)]
        assert len(sent) == 4
