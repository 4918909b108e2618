"""A robot message is read by everyone in the group it is posted to, so it carries no personal data of
its customer (no name, phone or the salesperson's words for them), and it goes only to the robot of
the customer's own group: a customer without one is refused when the push is made (``409
no_group_robot``), and a message that finds none when it is sent fails, never going to the program's
robot; messages queued before through that fallback fail too. A message written before, whose text
names its customer, posts the text rebuilt when it is sent (``test_push_robot_rebuilt``)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.crm import push_delivery, push_due
from neigou.crm.models import Customer
from neigou.feed import robots as feed_robots
from neigou.kit.db import transaction
from neigou.kit.sealed import Sealer
from tests.campaigns import builders as fb
from tests.conftest import TEST_ACTOR, TokenMaker, row_counts
from tests.crm.push_builders import AT, PushWorld, in_robot_group, push, send_through
from tests.crm.test_push_group_robots import _deliver, _messages, _texts, stubs, world
from tests.robots import Robot
from tests.sign_in import member_sign_in

__all__ = ["stubs", "world"]  # the fixtures of the group robot tests
# the robots these tests send to listen on 127.0.0.1
pytestmark = [pytest.mark.usefixtures("push_clock"), pytest.mark.local_receivers]


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def test_the_posted_robot_message_carries_nothing_personal(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    world: PushWorld,
    stubs: list[Robot],
) -> None:
    group_robot, _, program = stubs
    send_through(client, operator, world, "wecom_robot", program.url)
    in_robot_group(client, factory, world, group_robot.url, [world.wang, world.li])
    with transaction(factory) as session:  # what the book knows of 王女士 beyond her name
        row = session.get(Customer, world.wang)
        assert row is not None
        row.job, row.tags = "律师", ["VIP-老客"]
    made = push(client, world, customer_ids=[world.wang, world.li], skus=[fb.TEE, fb.SHAMPOO])

    assert sorted(_deliver(client, factory, AT)) == sorted(
        [(world.wang, "sent")] * 2 + [(world.li, "sent")] * 2
    )
    posted = _texts(group_robot)
    assert sorted(posted) == sorted(m["text"] for m in made["messages"])  # what the API shows is what went
    bodies = json.dumps([r["body"] for r in group_robot.received], ensure_ascii=False)
    for personal in ("王女士", "律师", "VIP-老客", "您好", "亲"):
        assert personal not in bodies
    for ref in (world.refs[world.wang], world.refs[world.li]):
        assert ref not in _digits(bodies)
        assert ref[-4:] not in bodies
    for message in made["messages"]:
        assert message["text"].endswith(f"/l/{message['link_code']}")
    assert program.received == []


def test_a_customer_without_a_group_robot_is_refused_and_nothing_is_written(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    world: PushWorld,
    stubs: list[Robot],
) -> None:
    group_robot, _, program = stubs
    send_through(client, operator, world, "wecom_robot", program.url)  # a program robot: never a fallback
    in_robot_group(client, factory, world, group_robot.url, [world.wang])
    before = row_counts(factory)

    refused = push(client, world, 409, customer_ids=[world.wang, world.li], skus=[fb.TEE])
    assert refused["code"] == "no_group_robot"
    assert "1 位客户所在的群没有机器人" in refused["detail"]
    english = push(
        client,
        world,
        409,
        headers={**world.feed.owner_headers, "Accept-Language": "en"},
        customer_ids=[world.li],
        skus=[fb.TEE],
    )
    assert (english["code"], english["detail"].startswith("1 of these customers have no robot")) == (
        "no_group_robot",
        True,
    )
    words = push(
        client, world, 422, customer_ids=[world.wang], skus=[fb.TEE], template="{name}，给你留了一件"
    )
    assert words["code"] == "template_not_for_robot"
    assert row_counts(factory) == before  # nothing written, no link made
    assert _deliver(client, factory, AT) == []
    assert program.received == []
    assert group_robot.received == []

    # A customer skipped anyway (no consent) needs no robot: the rest of the push goes.
    made = push(client, world, customer_ids=[world.wang, world.zhao], skus=[fb.TEE])
    assert [s["reason"] for s in made["skipped"]] == ["no_consent"]
    assert _deliver(client, factory, AT) == [(world.wang, "sent")]
    assert (len(group_robot.received), program.received) == (1, [])


def test_queued_messages_that_would_have_gone_to_the_programs_robot_fail(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    world: PushWorld,
    stubs: list[Robot],
) -> None:
    """Messages queued while the program's robot took customers without a group robot: one whose
    customer came from no group, one whose group has lost its robot. They fail with what to fix."""
    group_robot, _, program = stubs
    send_through(client, operator, world, "wecom_robot", program.url)
    group = in_robot_group(client, factory, world, group_robot.url, [world.wang, world.li])
    made = push(client, world, customer_ids=[world.wang, world.li], skus=[fb.TEE])
    with transaction(factory) as session:
        by_hand = session.get(Customer, world.wang)
        assert by_hand is not None
        by_hand.source_link_id = None  # added by hand: once the program's robot's
        feed_robots.set_robot(
            session,
            group_id=group,
            webhook_url=None,
            sealer=Sealer.from_settings(client.app.state.settings),  # type: ignore[attr-defined]
            actor=TEST_ACTOR,
            at=datetime.now(UTC),
        )

    assert sorted(_deliver(client, factory, AT)) == sorted([(world.wang, "failed"), (world.li, "failed")])
    shown = _messages(client, world, made["id"])
    for customer in (world.wang, world.li):
        message = shown[customer]
        assert (message["status"], message["attempts"], message["last_error"], message["sent_via"]) == (
            "failed",
            push_due.MAX_ATTEMPTS,
            push_delivery.NO_GROUP_ROBOT,
            None,
        )
        assert message["text"] == ""  # posted nowhere: no text that reads as what a group got
    assert program.received == []
    assert group_robot.received == []


def test_the_composers_preview_on_the_robot_channel_is_what_the_group_reads(
    client: TestClient,
    operator: dict[str, str],
    make_token: TokenMaker,
    world: PushWorld,
) -> None:
    send_through(client, operator, world, "wecom_robot", None)
    member_sign_in(client, make_token("member", world.feed.owner))
    form = {"customer_id": [world.wang], "sku": [fb.SHAMPOO], "template": "", "key": "robot-preview-1"}
    preview = client.post("/m/pushes/preview", data=form)
    assert preview.status_code == 200
    assert "飘柔 去屑洗发水 500ml ¥49.90：" in preview.text
    assert "王女士" not in preview.text.split('data-testid="preview"', 1)[1].split("</p>", 1)[0]
    worded = client.post("/m/pushes/preview", data={**form, "template": "{name} 您好"})
    assert (worded.status_code, 'data-testid="push-error"' in worded.text) == (422, True)
