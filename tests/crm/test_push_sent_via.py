"""A robot-channel push message records whose robot it went through, the customer's group's (with the
group; ``program`` only on messages sent before the program's robot stopped taking any), never the
robot's URL or key; the API, the workspace and the customer's data
export show it, and migration 0027 adds the record on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import delete, inspect, select, update
from sqlalchemy.orm import Session, sessionmaker

from neigou.crm.models import PushMessage, RobotVia
from neigou.feed.models import GroupRobot
from neigou.groups.models import Group
from neigou.kit.db import make_engine, transaction
from neigou.migrations.runner import alembic_config, upgrade
from tests.campaigns import builders as fb
from tests.conftest import TokenMaker
from tests.crm.push_builders import AT, PushWorld, push, send_through
from tests.crm.test_push_group_robots import (
    KEY,
    _customer,
    _deliver,
    _messages,
    _set_robot,
    stubs,
    world,
)
from tests.migration_templates import ScratchAt
from tests.robots import Robot
from tests.sign_in import member_sign_in

__all__ = ["stubs", "world"]  # the fixtures of the group robot tests
# the robots and receivers these tests send to listen on 127.0.0.1
pytestmark = [pytest.mark.usefixtures("push_clock"), pytest.mark.local_receivers]


def _pushed_to_two(
    client: TestClient,
    *,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    world: PushWorld,
    stubs: list[Robot],
    phone: str,
) -> tuple[dict[str, Any], int, int]:
    """The first two groups with their own robots, a program's robot that takes nothing, and one push to
    a customer of each group (``phone`` and the next number): the push and the two customers."""
    group_robot, second, program = stubs
    _set_robot(client, factory, world.feed.groups[0], group_robot)
    _set_robot(client, factory, world.feed.groups[1], second)
    send_through(client, operator, world, "wecom_robot", program.url)
    in_group = _customer(client, factory, world, phone, world.feed.groups[0])
    other = _customer(client, factory, world, str(int(phone) + 1), world.feed.groups[1])
    return push(client, world, customer_ids=[in_group, other], skus=[fb.TEE]), in_group, other


def test_each_message_records_and_shows_whose_robot_took_it(
    *,
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    make_token: TokenMaker,
    world: PushWorld,
    stubs: list[Robot],
) -> None:
    group_robot, second, program = stubs
    group_id, other_group = world.feed.groups[0], world.feed.groups[1]
    made, in_group, other = _pushed_to_two(
        client, operator=operator, factory=factory, world=world, stubs=stubs, phone="13900000031"
    )
    before = _messages(client, world, made["id"])
    assert [(before[c]["sent_via"], before[c]["sent_via_group_id"]) for c in (in_group, other)] == [
        (None, None),
        (None, None),
    ]  # not tried yet

    assert sorted(_deliver(client, factory, AT)) == sorted([(in_group, "sent"), (other, "sent")])
    assert (len(group_robot.received), len(second.received), len(program.received)) == (1, 1, 0)
    with factory() as session:
        stored = {
            m.customer_id: (m.sent_via, m.sent_via_group_id)
            for m in session.scalars(select(PushMessage).where(PushMessage.push_id == made["id"]))
        }
    assert stored == {in_group: (RobotVia.GROUP, group_id), other: (RobotVia.GROUP, other_group)}
    report = client.get(f"/api/v1/pushes/{made['id']}", headers=world.feed.owner_headers)
    shown = {m["customer_id"]: (m["sent_via"], m["sent_via_group_id"]) for m in report.json()["messages"]}
    assert shown == {in_group: ("group", group_id), other: ("group", other_group)}
    listed = client.get(f"/api/v1/members/{world.feed.owner}/pushes", headers=world.feed.owner_headers)
    for answer in (report, listed):
        assert KEY not in answer.text
        assert group_robot.url not in answer.text
        assert program.url not in answer.text
    with transaction(factory) as session:  # a message the program's robot took before it stopped taking any
        session.execute(
            update(PushMessage)
            .where(PushMessage.push_id == made["id"], PushMessage.customer_id == other)
            .values(sent_via=RobotVia.PROGRAM, sent_via_group_id=None)
        )

    group_name = client.get(f"/api/v1/groups/{group_id}", headers=operator).json()["name"]
    member_sign_in(client, make_token("member", world.feed.owner))
    page = client.get(f"/m/pushes/{made['id']}")
    assert page.status_code == 200
    assert f'data-testid="message-via">经客户所在群的机器人 · {group_name}</span>' in page.text
    assert 'data-testid="message-via">经分销计划的机器人</span>' in page.text
    assert KEY not in page.text


def test_the_record_outlives_its_group(
    *,
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    make_token: TokenMaker,
    world: PushWorld,
    stubs: list[Robot],
) -> None:
    """``sent_via_group_id`` has no foreign key on purpose: the application deletes no group, and one
    gone at the database (its owner's or program's cascade) leaves the record as it was, shown by id,
    where a key would have blocked the delete or emptied the record."""
    group_id = world.feed.groups[0]
    made, in_group, _ = _pushed_to_two(
        client, operator=operator, factory=factory, world=world, stubs=stubs, phone="13900000035"
    )
    assert sorted(_deliver(client, factory, AT))[0][1] == "sent"
    with factory() as session:
        session.execute(delete(Group).where(Group.id == group_id))
        session.commit()
    assert _messages(client, world, made["id"])[in_group]["sent_via_group_id"] == group_id
    member_sign_in(client, make_token("member", world.feed.owner))
    page = client.get(f"/m/pushes/{made['id']}")
    assert f'data-testid="message-via">经客户所在群的机器人 · #{group_id}</span>' in page.text


def test_the_customers_export_says_whose_robot_took_each_message_never_its_url(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    world: PushWorld,
    stubs: list[Robot],
) -> None:
    group_robot, _, program = stubs
    group_id, other_group = world.feed.groups[0], world.feed.groups[1]
    made, in_group, other = _pushed_to_two(
        client, operator=operator, factory=factory, world=world, stubs=stubs, phone="13900000034"
    )

    def exported(customer_id: int) -> list[tuple[int, str, str | None, int | None]]:
        answer = client.get(f"/api/v1/customers/{customer_id}/export", headers=world.feed.owner_headers)
        assert answer.status_code == 200, answer.text
        for secret in (KEY, group_robot.url, program.url):
            assert secret not in answer.text
        return [
            (m["push_id"], m["status"], m["sent_via"], m["sent_via_group_id"])
            for m in answer.json()["messages"]
        ]

    assert exported(in_group) == [(made["id"], "pending", None, None)]  # not tried yet
    assert sorted(_deliver(client, factory, AT)) == sorted([(in_group, "sent"), (other, "sent")])
    assert exported(in_group) == [(made["id"], "sent", "group", group_id)]
    assert exported(other) == [(made["id"], "sent", "group", other_group)]


def test_a_message_no_robot_takes_records_none(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    world: PushWorld,
    stubs: list[Robot],
) -> None:
    group_id = world.feed.groups[0]
    _set_robot(client, factory, group_id, stubs[0])
    send_through(client, operator, world, "wecom_robot", stubs[2].url)
    alone = _customer(client, factory, world, "13900000033", group_id)
    made = push(client, world, customer_ids=[alone], skus=[fb.TEE])
    with transaction(factory) as session:  # the group's robot is removed before the message goes out
        session.execute(delete(GroupRobot).where(GroupRobot.group_id == group_id))
    assert _deliver(client, factory, AT) == [(alone, "failed")]
    shown = _messages(client, world, made["id"])[alone]
    assert (shown["status"], shown["sent_via"], shown["sent_via_group_id"]) == ("failed", None, None)


def test_migration_0027_adds_the_record_and_downgrade_takes_it_away(scratch_at: ScratchAt) -> None:
    scratch_url = scratch_at("0026")
    engine = make_engine(scratch_url)

    def columns() -> dict[str, bool]:
        return {c["name"]: c["nullable"] for c in inspect(engine).get_columns("push_messages")}

    assert not columns().keys() & {"sent_via", "sent_via_group_id"}
    upgrade(scratch_url)
    assert {k: v for k, v in columns().items() if k.startswith("sent_via")} == {
        "sent_via": True,
        "sent_via_group_id": True,
    }
    command.downgrade(alembic_config(scratch_url), "0026")
    assert not columns().keys() & {"sent_via", "sent_via_group_id"}
    upgrade(scratch_url)  # and up again
    assert {"sent_via", "sent_via_group_id"} <= columns().keys()
    engine.dispose()
