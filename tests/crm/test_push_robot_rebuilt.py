"""What a robot message posts is never its stored text: each attempt rebuilds it from the message's link
and product (``push_copy.robot_text``), so a message written before robot messages were non-personal,
greeting its customer by a name changed or cleared since, or carrying the salesperson's words, posts
the offer and the link only; and the stored text becomes what was posted. A message whose link or
product is gone cannot be rebuilt: it fails and is posted nowhere."""

from __future__ import annotations

import html
import json
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from neigou.crm import push_delivery, push_due
from neigou.crm.models import Customer, Push, PushMessage
from neigou.kit.db import transaction
from neigou.links.models import ShareLink
from neigou.offers.models import Product
from tests.campaigns import builders as fb
from tests.conftest import TokenMaker
from tests.crm.push_builders import AT, PushWorld, in_robot_group, push, send_through
from tests.crm.test_push_group_robots import _deliver, _messages, _texts, stubs, world
from tests.robots import Robot
from tests.sign_in import member_sign_in

__all__ = ["stubs", "world"]  # the fixtures of the group robot tests
# the robots these tests send to listen on 127.0.0.1
pytestmark = [pytest.mark.usefixtures("push_clock"), pytest.mark.local_receivers]


def _workspace(client: TestClient, make_token: TokenMaker, world: PushWorld, push_id: int) -> str:
    """The member's workspace page of the push."""
    member_sign_in(client, make_token("member", world.feed.owner))
    page = client.get(f"/m/pushes/{push_id}")
    assert page.status_code == 200
    return page.text


def _rewrite(factory: sessionmaker[Session], message_id: int, text: str) -> None:
    with transaction(factory) as session:
        session.execute(update(PushMessage).where(PushMessage.id == message_id).values(text=text))


def test_a_message_written_before_the_rule_posts_the_rebuilt_text_whatever_its_customer_is_called(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    world: PushWorld,
    stubs: list[Robot],
) -> None:
    """Written while robot messages greeted the customer (with her phone): 王女士 is renamed since to a
    name holding the old one, 李先生's name is cleared. Neither old name nor phone reaches the group."""
    group_robot, _, program = stubs
    send_through(client, operator, world, "wecom_robot", None)
    in_robot_group(client, factory, world, group_robot.url, [world.wang, world.li])
    made = push(client, world, customer_ids=[world.wang, world.li], skus=[fb.TEE])
    rebuilt = {m["customer_id"]: m["text"] for m in made["messages"]}
    by_customer = {m["customer_id"]: m["id"] for m in made["messages"]}
    _rewrite(factory, by_customer[world.wang], f"王女士（13800000001）您好，{rebuilt[world.wang]}")
    _rewrite(factory, by_customer[world.li], f"Hi 李先生 138-0000-0002, {rebuilt[world.li]}")
    with transaction(factory) as session:
        session.execute(update(Customer).where(Customer.id == world.wang).values(name="王女士丰"))
        session.execute(update(Customer).where(Customer.id == world.li).values(name=None))

    assert sorted(_deliver(client, factory, AT)) == sorted([(world.wang, "sent"), (world.li, "sent")])
    assert sorted(_texts(group_robot)) == sorted(rebuilt.values())
    bodies = json.dumps([r["body"] for r in group_robot.received], ensure_ascii=False)
    for personal in ("王女士", "李先生", "您好", "Hi "):
        assert personal not in bodies
    for ref in (world.refs[world.wang], world.refs[world.li]):
        assert ref not in re.sub(r"\D", "", bodies)
    shown = _messages(client, world, made["id"])
    for customer in (world.wang, world.li):  # the stored text is what the group read
        assert (shown[customer]["status"], shown[customer]["text"]) == ("sent", rebuilt[customer])
    assert program.received == []


def test_a_push_that_carried_the_salespersons_words_posts_the_rebuilt_text(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    world: PushWorld,
    stubs: list[Robot],
) -> None:
    group_robot, _, _ = stubs
    send_through(client, operator, world, "wecom_robot", None)
    in_robot_group(client, factory, world, group_robot.url, [world.wang])
    made = push(client, world, customer_ids=[world.wang], skus=[fb.SHAMPOO])
    message = made["messages"][0]
    _rewrite(factory, message["id"], f"老客专享，给你留了：{message['link_code']}")
    with transaction(factory) as session:
        session.execute(
            update(Push).where(Push.id == made["id"]).values(template="老客专享，给你留了：{link}")
        )

    assert _deliver(client, factory, AT) == [(world.wang, "sent")]
    assert _texts(group_robot) == [message["text"]]
    assert "飘柔 去屑洗发水 500ml 群内价 ¥24.90（App 价 ¥49.90）：" in message["text"]
    assert _messages(client, world, made["id"])[world.wang]["text"] == message["text"]


def test_a_message_whose_link_or_product_is_gone_fails_and_nothing_is_posted(
    *,
    client: TestClient,
    operator: dict[str, str],
    make_token: TokenMaker,
    factory: sessionmaker[Session],
    world: PushWorld,
    stubs: list[Robot],
) -> None:
    """One message's link is gone (deleted: ``link_id`` null), another's withdrawn, and the shampoo is no
    longer on sale: no text can be rebuilt for them, so none is posted, old text or new."""
    group_robot, _, program = stubs
    send_through(client, operator, world, "wecom_robot", program.url)
    in_robot_group(client, factory, world, group_robot.url, [world.wang, world.li])
    made = push(client, world, customer_ids=[world.wang, world.li], skus=[fb.TEE, fb.SHAMPOO])
    tee = {m["customer_id"]: m for m in made["messages"] if m["sku"] == fb.TEE}
    with transaction(factory) as session:
        session.execute(
            update(PushMessage).where(PushMessage.id == tee[world.wang]["id"]).values(link_id=None)
        )
        session.execute(
            update(ShareLink).where(ShareLink.code == tee[world.li]["link_code"]).values(active=False)
        )
        session.execute(update(Product).where(Product.sku == fb.SHAMPOO).values(active=False))

    assert sorted(_deliver(client, factory, AT)) == sorted(
        [(world.wang, "failed")] * 2 + [(world.li, "failed")] * 2
    )
    report = client.get(f"/api/v1/pushes/{made['id']}", headers=world.feed.owner_headers).json()
    assert len(report["messages"]) == 4
    for message in report["messages"]:
        assert (message["status"], message["attempts"], message["last_error"], message["sent_via"]) == (
            "failed",
            push_due.MAX_ATTEMPTS,
            push_delivery.NO_OFFER,
            None,
        )
        # Posted nowhere: the text written at the push (never posted) is not shown as if it had been.
        assert message["text"] == ""
    assert group_robot.received == []
    assert program.received == []
    page = _workspace(client, make_token, world, made["id"])
    assert page.count('data-testid="message-text"></textarea>') == 4
    for message in made["messages"]:  # the text written at the push
        assert message["text"]
        assert html.escape(message["text"]) not in page
