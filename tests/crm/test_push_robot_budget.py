"""A WeCom robot takes 20 messages a minute: a robot message over its robot's budget is neither claimed
nor sent (no attempt taken), and a robot's ``errcode 45009`` gives the attempt back, until the time the
message would have been given up after its last backoff."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.crm.models import PushMessage
from neigou.crm.push_delivery import deliver_due
from neigou.crm.push_due import MAX_ATTEMPTS
from neigou.integrations.events import waited
from neigou.kit import robot_budget
from neigou.kit.db import transaction
from neigou.kit.settings import Settings
from tests.campaigns import builders as fb
from tests.crm.push_builders import AT, PushWorld, in_robot_group, push, send_through

pytestmark = [pytest.mark.world_per_module, pytest.mark.usefixtures("push_clock")]
ROBOT = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=budget-1"


@pytest.fixture(scope="module")
def world(
    world: PushWorld,
    module_client: TestClient,
    module_operator: dict[str, str],
    module_factory: sessionmaker[Session],
) -> PushWorld:
    """The push world, its pushes sent through the robot of the customers' own group."""
    in_robot_group(module_client, module_factory, world, ROBOT)  # the owner's customers' own group's robot
    return send_through(module_client, module_operator, world, "wecom_robot", "")


def _rows(session: Session) -> list[tuple[str, int, str | None]]:
    rows = session.execute(
        select(PushMessage.status, PushMessage.attempts, PushMessage.last_error).order_by(PushMessage.id)
    )
    return [(str(s), n, e) for s, n, e in rows]


def test_a_robot_past_its_20_a_minute_is_not_sent_to(
    client: TestClient, factory: sessionmaker[Session], world: PushWorld
) -> None:
    push(client, world, customer_ids=[world.wang, world.li], skus=[fb.TEE, fb.SHAMPOO])
    running: Settings = client.app.state.settings  # type: ignore[attr-defined]
    for _ in range(19):  # other messages through the same robot this minute
        assert robot_budget.take(ROBOT, running)
    sent: list[httpx.Request] = []

    def robot(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={"errcode": 0, "errmsg": "ok"})

    with transaction(factory) as session:
        done = deliver_due(session, at=AT, settings=running, transport=httpx.MockTransport(robot))
        assert [m.status.value for m in done] == ["sent"]
        assert len(sent) == 1
        assert sorted(_rows(session)) == [("pending", 0, None)] * 3 + [("sent", 1, None)]


def test_a_robot_answering_45009_gives_the_attempt_back_until_the_last_backoff(
    client: TestClient, factory: sessionmaker[Session], world: PushWorld
) -> None:
    push(client, world, customer_ids=[world.wang], skus=[fb.TEE])
    running: Settings = client.app.state.settings  # type: ignore[attr-defined]
    transport = httpx.MockTransport(lambda _: httpx.Response(200, json={"errcode": 45009, "errmsg": "limit"}))
    limited = "HTTP 200 errcode 45009"
    with transaction(factory) as session:
        for minute in range(3):
            robot_budget.forget()
            deliver_due(session, at=AT + timedelta(minutes=minute), settings=running, transport=transport)
            assert _rows(session) == [("pending", 0, limited)]
        robot_budget.forget()
        deliver_due(session, at=AT + waited(MAX_ATTEMPTS), settings=running, transport=transport)
        assert _rows(session) == [("pending", 1, limited)]
