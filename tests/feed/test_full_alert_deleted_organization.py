"""A live code's "all groups full" robot message waiting to go out is failed with ``organization_deleted``
when its organization is deleted, in the deletion's transaction, and a first attempt queued before the
deletion asks again right before it sends: it sends nothing, whichever way the organization was deleted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from neigou.feed import full_alerts
from neigou.feed.full_alerts import ALERT_JOB
from neigou.groups.models import LiveCode, RobotAlertStatus
from neigou.kit import jobs
from neigou.kit.attempts import FIRST_ATTEMPT_GRACE
from neigou.kit.db import transaction
from neigou.kit.settings import use_settings
from neigou.organizations.models import Organization
from neigou.programs.models import Program
from tests.feed.conftest import app_settings
from tests.feed.test_full_alert_retries import Full, full, retry, the_alert
from tests.robots import Robot

__all__ = ["full"]  # the fixture, shared with the retries' tests

pytestmark = pytest.mark.local_receivers  # its receiver listens on 127.0.0.1


def _queued(client: TestClient, monkeypatch: pytest.MonkeyPatch, full: Full) -> list[dict[str, Any]]:
    """The scan that finds every group full, its first attempt's job held back: the payloads held."""
    held: list[dict[str, Any]] = []
    queue = jobs.defer

    def defer(session: Session, job: str, *, key: str, payload: dict[str, Any] | None = None) -> None:
        if job == ALERT_JOB:
            held.append(dict(payload or {}))
        else:
            queue(session, job, key=key, payload=payload)

    monkeypatch.setattr(jobs, "defer", defer)
    assert client.get(f"/g/{full.code}").status_code == 200
    monkeypatch.setattr(jobs, "defer", queue)
    return held


def _leaving(client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]) -> int:
    """The live code's program moved to an organization of its own (the default one is never deleted)."""
    made = client.post("/api/v1/organizations", json={"code": "leaving", "name": "leaving"}, headers=operator)
    assert made.status_code == 201, made.text
    with transaction(factory) as session:
        program_id = session.scalars(select(LiveCode.program_id)).one()
        session.execute(
            update(Program).where(Program.id == program_id).values(organization_id=made.json()["id"])
        )
    return int(made.json()["id"])


def _first_attempt(client: TestClient, factory: sessionmaker[Session], payload: dict[str, Any]) -> None:
    """The held first attempt's job, run as its runner runs it."""
    with transaction(factory) as session:
        use_settings(session, app_settings(client))
        full_alerts.robot_alert_job(session, payload, datetime.now(UTC))


def test_deleting_the_organization_fails_a_pending_robot_message(
    *,
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    robot: Robot,
    full: Full,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    held = _queued(client, monkeypatch, full)
    assert len(held) == 1
    pending = the_alert(factory)
    assert (pending.robot_status, pending.robot_attempts) == (RobotAlertStatus.PENDING, 0)
    organization_id = _leaving(client, operator, factory)
    deleted = client.delete(f"/api/v1/organizations/{organization_id}", headers=operator)
    assert deleted.status_code == 200, deleted.text
    failed = the_alert(factory)
    assert (failed.robot_status, failed.robot_detail) == (RobotAlertStatus.FAILED, "organization_deleted")
    assert failed.robot_next_attempt_at is None
    _first_attempt(client, factory, held[0])
    assert pending.robot_next_attempt_at is not None
    retry(client, factory, pending.robot_next_attempt_at + FIRST_ATTEMPT_GRACE + timedelta(hours=1))
    assert robot.received == []
    assert the_alert(factory).robot_attempts == 0


def test_a_first_attempt_queued_before_the_deletion_sends_nothing(
    *,
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    robot: Robot,
    full: Full,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    held = _queued(client, monkeypatch, full)
    organization_id = _leaving(client, operator, factory)
    with transaction(factory) as session:  # deleted without its listeners (before this rule, or by hand)
        session.execute(
            update(Organization)
            .where(Organization.id == organization_id)
            .values(deleted_at=datetime.now(UTC))
        )
    _first_attempt(client, factory, held[0])
    assert robot.received == []
    alert = the_alert(factory)
    assert (alert.robot_status, alert.robot_detail, alert.robot_attempts) == (
        RobotAlertStatus.FAILED,
        "organization_deleted",
        0,
    )
