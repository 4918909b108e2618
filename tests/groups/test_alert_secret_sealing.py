"""The signing secret of the program's alert robot is a credential: it is stored sealed with the payee
keys (pages, the API and the audit log only say whether one is set), opened only to sign the alert,
opened by an older key after a rotation, an alert whose secret no configured key opens counts as
having no robot, and migration 0026 seals the secrets stored before it (and opens them again on
downgrade) on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import parse_qs, quote_plus, urlsplit

import pytest
from alembic import command
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from sqlalchemy import inspect, select, text
from sqlalchemy.orm import Session, sessionmaker

from neigou.audit.models import AuditEntry
from neigou.groups import alerts, webhook
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

SECRET = "SECalert-signing-4711"
DAY = date(2026, 3, 24)


def _stored(factory: sessionmaker[Session], program_id: int) -> str | None:
    with factory() as session:
        return session.scalars(
            select(GroupSettings.webhook_secret_sealed).where(GroupSettings.program_id == program_id)
        ).one()


def _put(factory: sessionmaker[Session], program_id: int, settings: Settings, **data: str) -> None:
    with transaction(factory) as session:
        settings_service.put_settings(
            session,
            program_id=program_id,
            data=SettingsIn(**data),
            sealer=Sealer.from_settings(settings),
            allow_private=settings.outbound_allow_private,
            actor=TEST_ACTOR,
        )


def _signed_with(robot: Robot, secret: str) -> bool:
    query = parse_qs(urlsplit(robot.received[-1]["path"]).query)
    assert query["key"] == ["robot-key"]
    # parse_qs decodes the URL encoding that sign() applied.
    return webhook.sign(secret, int(query["timestamp"][0])) == quote_plus(query["sign"][0])


def test_the_secret_is_stored_sealed_never_shown_and_the_alert_is_still_signed(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    world: dict[str, Any],
    robot: Robot,
) -> None:
    program_id = world["program"]["id"]
    path = f"/api/v1/programs/{program_id}/group-settings"
    put = client.put(path, json={"webhook_secret": SECRET}, headers=operator)
    assert put.status_code == 200
    stored = _stored(factory, program_id)
    assert stored is not None
    assert SECRET not in stored
    assert app_sealer(client).unseal(stored) == SECRET
    shown = client.get(path, headers=operator)
    for answer in (put, shown):
        assert answer.json()["signed"] is True
        assert SECRET not in answer.text
        assert stored not in answer.text
    with factory() as session:
        audited = session.scalars(
            select(AuditEntry)
            .where(AuditEntry.action == "group.settings.put", AuditEntry.entity_id == str(program_id))
            .order_by(AuditEntry.id)
        ).all()
    assert audited
    assert all(SECRET not in repr((a.before, a.after)) for a in audited)
    assert audited[-1].after is not None
    assert audited[-1].after["signed"] is True
    console_sign_in(client, factory)
    page = client.get(f"/console/programs/{program_id}/groups?view=alerts")
    assert page.status_code == 200
    assert 'data-testid="alert-robot-signed">已设置<' in page.text  # whether one is set, not what
    assert SECRET not in page.text
    assert stored not in page.text
    with transaction(factory) as session:
        delivery = alerts.deliver_alert(
            session, program_id=program_id, on=DAY, at=MORNING, settings=app_settings(client)
        )
        assert delivery.status.value == "sent"
    assert len(robot.received) == 1
    assert _signed_with(robot, SECRET)
    cleared = client.put(path, json={"webhook_secret": ""}, headers=operator)
    assert cleared.json()["signed"] is False
    assert _stored(factory, program_id) is None
    page = client.get(f"/console/programs/{program_id}/groups?view=alerts")
    assert 'data-testid="alert-robot-signed">无<' in page.text


def test_after_a_key_rotation_the_old_key_still_opens_the_secret(
    client: TestClient, factory: sessionmaker[Session], world: dict[str, Any], robot: Robot
) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    before = app_settings(client).model_copy(update={"payee_keys": old})
    rotated = app_settings(client).model_copy(update={"payee_keys": f"{new},{old}"})
    program_id = world["program"]["id"]
    _put(factory, program_id, before, webhook_url=robot.url, webhook_secret=SECRET)
    stored = _stored(factory, program_id)
    assert stored is not None
    assert Sealer([new]).unseal(stored) is None  # sealed with the old key
    with transaction(factory) as session:
        delivery = alerts.deliver_alert(session, program_id=program_id, on=DAY, at=MORNING, settings=rotated)
        assert delivery.status.value == "sent"
    assert len(robot.received) == 1
    assert _signed_with(robot, SECRET)


def test_a_secret_no_configured_key_opens_counts_as_no_robot_and_says_so_without_it(
    client: TestClient,
    factory: sessionmaker[Session],
    world: dict[str, Any],
    robot: Robot,
    capsys: pytest.CaptureFixture[str],
) -> None:
    gone = app_settings(client).model_copy(update={"payee_keys": Fernet.generate_key().decode()})
    kept = app_settings(client).model_copy(update={"payee_keys": Fernet.generate_key().decode()})
    program_id = world["program"]["id"]
    _put(factory, program_id, kept, webhook_url=robot.url)  # the URL opens
    _put(factory, program_id, gone, webhook_secret=SECRET)  # its secret does not
    capsys.readouterr()
    with transaction(factory) as session:
        delivery = alerts.deliver_alert(session, program_id=program_id, on=DAY, at=MORNING, settings=kept)
        assert (delivery.status.value, delivery.detail) == ("skipped", "no webhook configured")
    logged = capsys.readouterr()
    assert "groups.alert_robot_secret_unopened" in logged.err + logged.out
    assert str(program_id) in logged.err + logged.out
    assert SECRET not in logged.err + logged.out
    assert robot.received == []  # never sent unsigned to a robot that signs


def test_migration_0026_seals_stored_secrets_and_downgrade_opens_them(
    scratch_at: ScratchAt, migration_key: str
) -> None:
    scratch_url = scratch_at(PROGRAMS_REVISION)
    engine, (old, bare) = programs_at(scratch_url, "0025", "old", "bare")
    with engine.begin() as conn:
        for program, secret in ((old, SECRET), (bare, None)):
            group_settings(conn, program, webhook_secret=secret)
    upgrade(scratch_url)
    columns = {c["name"] for c in inspect(engine).get_columns("group_settings")}
    assert "webhook_secret" not in columns
    with engine.connect() as conn:
        sealed: dict[int, str | None] = dict(
            conn.execute(text("SELECT program_id, webhook_secret_sealed FROM group_settings")).all()
        )
    assert sealed[bare] is None
    token = sealed[old]
    assert token is not None
    assert SECRET not in token
    assert Sealer([migration_key]).unseal(token) == SECRET
    command.downgrade(alembic_config(scratch_url), "0025")
    columns = {c["name"] for c in inspect(engine).get_columns("group_settings")}
    assert "webhook_secret_sealed" not in columns
    with engine.connect() as conn:
        secrets: dict[int, str | None] = dict(
            conn.execute(text("SELECT program_id, webhook_secret FROM group_settings")).all()
        )
    assert secrets == {old: SECRET, bare: None}
    upgrade(scratch_url)  # and up again
    with engine.connect() as conn:
        again = conn.execute(
            text("SELECT webhook_secret_sealed FROM group_settings WHERE program_id = :p"), {"p": old}
        ).scalar_one()
    assert Sealer([migration_key]).unseal(again) == SECRET
    engine.dispose()
