"""A group robot's URL carries the robot's key: it is stored sealed with the payee keys, opened only to
send, opened by an older key after a rotation, and migration 0024 seals the URLs stored before it (and
opens them again on downgrade) on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from alembic import command
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from sqlalchemy import inspect, select, text
from sqlalchemy.orm import Session, sessionmaker

from neigou.feed import delivery
from neigou.feed import robots as feed_robots
from neigou.feed.models import GroupRobot
from neigou.kit.db import transaction
from neigou.kit.sealed import Sealer
from neigou.migrations.runner import alembic_config, upgrade
from tests.campaigns import builders as b
from tests.conftest import TEST_ACTOR
from tests.feed.conftest import app_sealer, app_settings
from tests.feed.test_post_delivery_races import DUE, _evening_posts, stubs, world
from tests.migrating import CREATED, PROGRAMS_REVISION, insert, owner_and_group, programs_at
from tests.migration_templates import ScratchAt
from tests.robots import Robot

# the robots and receivers these tests send to listen on 127.0.0.1
pytestmark = pytest.mark.local_receivers

__all__ = ["stubs", "world"]  # the fixtures, shared with the race tests

WECOM = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=sealed-key-123"


def _stored(factory: sessionmaker[Session], group_id: int) -> str:
    with factory() as session:
        return session.scalars(
            select(GroupRobot.webhook_url_sealed).where(GroupRobot.group_id == group_id)
        ).one()


def test_the_url_is_stored_sealed_and_the_post_still_reaches_the_robot(
    client: TestClient, factory: sessionmaker[Session], world: b.FeedWorld, stubs: list[Robot]
) -> None:
    put = client.put(
        f"/api/v1/groups/{world.groups[0]}/robot", json={"webhook_url": WECOM}, headers=world.owner_headers
    )
    assert put.json() == {"group_id": world.groups[0], "configured": True}
    stored = _stored(factory, world.groups[0])
    assert "sealed-key-123" not in stored
    assert "qyapi" not in stored
    assert app_sealer(client).unseal(stored) == WECOM
    robot = stubs[0]
    with transaction(factory) as session:
        feed_robots.set_robot(
            session,
            group_id=world.groups[0],
            webhook_url=robot.url,
            sealer=app_sealer(client),
            actor=TEST_ACTOR,
            at=DUE,
        )
    assert "robot-key" not in _stored(factory, world.groups[0])
    [post_id] = _evening_posts(client, world, [world.groups[0]])
    with transaction(factory) as session:
        done = delivery.deliver_due(session, at=DUE, settings=app_settings(client))
        assert [(p.id, p.status.value) for p in done] == [(post_id, "sent")]
    assert len(robot.received) == 1


def test_after_a_key_rotation_the_old_key_still_opens_the_url(
    client: TestClient, factory: sessionmaker[Session], world: b.FeedWorld, stubs: list[Robot]
) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    before = app_settings(client).model_copy(update={"payee_keys": old})
    rotated = app_settings(client).model_copy(update={"payee_keys": f"{new},{old}"})
    robot = stubs[0]
    with transaction(factory) as session:
        feed_robots.set_robot(
            session,
            group_id=world.groups[1],
            webhook_url=robot.url,
            sealer=Sealer.from_settings(before),
            actor=TEST_ACTOR,
            at=DUE,
        )
    assert Sealer([new]).unseal(_stored(factory, world.groups[1])) is None  # sealed with the old key
    [post_id] = _evening_posts(client, world, [world.groups[1]])
    with transaction(factory) as session:
        done = delivery.deliver_due(session, at=DUE, settings=rotated)
        assert [(p.id, p.status.value) for p in done] == [(post_id, "sent")]
    assert len(robot.received) == 1


def test_a_url_no_configured_key_opens_turns_the_post_into_a_task_and_says_so(
    client: TestClient,
    factory: sessionmaker[Session],
    world: b.FeedWorld,
    stubs: list[Robot],
    capsys: pytest.CaptureFixture[str],
) -> None:
    gone = app_settings(client).model_copy(update={"payee_keys": Fernet.generate_key().decode()})
    kept = app_settings(client).model_copy(update={"payee_keys": Fernet.generate_key().decode()})
    robot = stubs[0]
    with transaction(factory) as session:
        feed_robots.set_robot(
            session,
            group_id=world.groups[1],
            webhook_url=robot.url,
            sealer=Sealer.from_settings(gone),
            actor=TEST_ACTOR,
            at=DUE,
        )
    [post_id] = _evening_posts(client, world, [world.groups[1]])
    capsys.readouterr()
    with transaction(factory) as session:
        done = delivery.deliver_due(session, at=DUE, settings=kept)
        assert [(p.id, p.status.value) for p in done] == [(post_id, "to_copy")]
    logged = capsys.readouterr()
    assert "feed.robot_key_unopened" in logged.err + logged.out
    assert robot.received == []


def test_migration_0024_seals_stored_urls_and_downgrade_opens_them(
    scratch_at: ScratchAt, migration_key: str
) -> None:
    scratch_url = scratch_at(PROGRAMS_REVISION)
    engine, (program,) = programs_at(scratch_url, "0023", "old")
    with engine.begin() as conn:
        _, group = owner_and_group(conn, program)
        insert(conn, "group_robots", group_id=group, webhook_url=WECOM, updated_at=CREATED)
    upgrade(scratch_url)
    with engine.connect() as conn:
        sealed = conn.execute(text("SELECT webhook_url_sealed FROM group_robots")).scalar_one()
    assert "sealed-key-123" not in sealed
    assert Sealer([migration_key]).unseal(sealed) == WECOM
    command.downgrade(alembic_config(scratch_url), "0023")
    assert "webhook_url_sealed" not in {c["name"] for c in inspect(engine).get_columns("group_robots")}
    with engine.connect() as conn:
        assert conn.execute(text("SELECT webhook_url FROM group_robots")).scalars().all() == [WECOM]
    upgrade(scratch_url)  # and up again
    with engine.connect() as conn:
        again = conn.execute(text("SELECT webhook_url_sealed FROM group_robots")).scalar_one()
    assert Sealer([migration_key]).unseal(again) == WECOM
    engine.dispose()
