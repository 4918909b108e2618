"""The program's alert robot URL carries the robot's key: it is stored sealed with the payee keys (pages
and the API show its host and path only), opened only to send the alert, opened by an older key after a
rotation, and migration 0025 seals the URLs stored before it (and opens them again on downgrade) on
SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from alembic import command
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from sqlalchemy import inspect, select, text
from sqlalchemy.orm import Session, sessionmaker

from neigou.groups import alerts
from neigou.groups import settings as settings_service
from neigou.groups.models import GroupSettings
from neigou.groups.schemas import SettingsIn
from neigou.kit.db import transaction
from neigou.kit.sealed import Sealer
from neigou.kit.settings import Settings
from neigou.migrations.runner import alembic_config, upgrade
from tests.conftest import TEST_ACTOR
from tests.feed.conftest import app_sealer, app_settings
from tests.groups.test_alerts import MORNING, world
from tests.migrating import PROGRAMS_REVISION, group_settings, programs_at
from tests.migration_templates import ScratchAt
from tests.robots import Robot, robot
from tests.sign_in import console_sign_in

# the robots and receivers these tests send to listen on 127.0.0.1
pytestmark = pytest.mark.local_receivers

__all__ = ["robot", "world"]  # the fixtures of the alert tests

WECOM = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=alert-key-123"
DAY = date(2026, 3, 24)


def _stored(factory: sessionmaker[Session], program_id: int) -> str | None:
    with factory() as session:
        return session.scalars(
            select(GroupSettings.webhook_url_sealed).where(GroupSettings.program_id == program_id)
        ).one()


def _seal_with(factory: sessionmaker[Session], program_id: int, url: str, settings: Settings) -> None:
    with transaction(factory) as session:
        settings_service.put_settings(
            session,
            program_id=program_id,
            data=SettingsIn(webhook_url=url),
            sealer=Sealer.from_settings(settings),
            allow_private=settings.outbound_allow_private,
            actor=TEST_ACTOR,
        )


def test_the_url_is_stored_sealed_shown_masked_and_the_alert_still_reaches_the_robot(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    world: dict[str, Any],
    robot: Robot,
) -> None:
    program_id = world["program"]["id"]
    stored = _stored(factory, program_id)  # the world put the robot's URL through the API
    assert stored is not None
    assert "robot-key" not in stored
    assert "127.0.0.1" not in stored
    assert app_sealer(client).unseal(stored) == robot.url
    shown = client.get(f"/api/v1/programs/{program_id}/group-settings", headers=operator)
    assert shown.json()["webhook_configured"] is True
    assert shown.json()["webhook_url_masked"] == robot.url.split("?")[0] + "?…"
    assert "robot-key" not in shown.text
    assert stored not in shown.text
    console_sign_in(client, factory)
    page = client.get(f"/console/programs/{program_id}/groups?view=alerts")
    assert robot.url.split("?")[0] + "?…" in page.text  # its host and path, as before
    assert "robot-key" not in page.text
    assert stored not in page.text
    with transaction(factory) as session:
        delivery = alerts.deliver_alert(
            session, program_id=program_id, on=DAY, at=MORNING, settings=app_settings(client)
        )
        assert delivery.status.value == "sent"
    assert len(robot.received) == 1
    assert "key=robot-key" in robot.received[0]["path"]


def test_after_a_key_rotation_the_old_key_still_opens_the_url(
    client: TestClient, factory: sessionmaker[Session], world: dict[str, Any], robot: Robot
) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    before = app_settings(client).model_copy(update={"payee_keys": old})
    rotated = app_settings(client).model_copy(update={"payee_keys": f"{new},{old}"})
    program_id = world["program"]["id"]
    _seal_with(factory, program_id, robot.url, before)
    stored = _stored(factory, program_id)
    assert stored is not None
    assert Sealer([new]).unseal(stored) is None  # sealed with the old key
    with transaction(factory) as session:
        delivery = alerts.deliver_alert(session, program_id=program_id, on=DAY, at=MORNING, settings=rotated)
        assert delivery.status.value == "sent"
    assert len(robot.received) == 1


def test_a_url_no_configured_key_opens_counts_as_no_robot_and_says_so(
    client: TestClient,
    factory: sessionmaker[Session],
    world: dict[str, Any],
    robot: Robot,
    capsys: pytest.CaptureFixture[str],
) -> None:
    gone = app_settings(client).model_copy(update={"payee_keys": Fernet.generate_key().decode()})
    kept = app_settings(client).model_copy(update={"payee_keys": Fernet.generate_key().decode()})
    program_id = world["program"]["id"]
    _seal_with(factory, program_id, robot.url, gone)
    capsys.readouterr()
    with transaction(factory) as session:
        delivery = alerts.deliver_alert(session, program_id=program_id, on=DAY, at=MORNING, settings=kept)
        assert (delivery.status.value, delivery.detail) == ("skipped", "no webhook configured")
    logged = capsys.readouterr()
    assert "groups.alert_robot_key_unopened" in logged.err + logged.out
    assert robot.received == []


def test_migration_0025_seals_stored_urls_and_downgrade_opens_them(
    scratch_at: ScratchAt, migration_key: str
) -> None:
    scratch_url = scratch_at(PROGRAMS_REVISION)
    engine, (old, bare) = programs_at(scratch_url, "0024", "old", "bare")
    with engine.begin() as conn:
        for program, url in ((old, WECOM), (bare, None)):
            group_settings(conn, program, webhook_url=url)
    upgrade(scratch_url)
    with engine.connect() as conn:
        sealed, masked = conn.execute(
            text("SELECT webhook_url_sealed, webhook_url_masked FROM group_settings WHERE program_id = :p"),
            {"p": old},
        ).one()
        none = conn.execute(
            text("SELECT webhook_url_sealed FROM group_settings WHERE program_id = :p"), {"p": bare}
        ).scalar_one()
    assert none is None
    assert "alert-key-123" not in sealed
    assert Sealer([migration_key]).unseal(sealed) == WECOM
    assert masked == "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?…"
    command.downgrade(alembic_config(scratch_url), "0024")
    columns = {c["name"] for c in inspect(engine).get_columns("group_settings")}
    assert not columns & {"webhook_url_sealed", "webhook_url_masked"}
    with engine.connect() as conn:
        urls = conn.execute(text("SELECT program_id, webhook_url FROM group_settings")).all()
    assert sorted(urls, key=lambda r: r[0]) == sorted([(old, WECOM), (bare, None)], key=lambda r: r[0])
    upgrade(scratch_url)  # and up again
    with engine.connect() as conn:
        again = conn.execute(
            text("SELECT webhook_url_sealed FROM group_settings WHERE program_id = :p"), {"p": old}
        ).scalar_one()
    assert Sealer([migration_key]).unseal(again) == WECOM
    engine.dispose()
