"""A group alert whose run was killed before it claimed the delivery (its job key committed, the
delivery row and alert rows rolled back with the process) is sent by a later tick, once
(``groups.alerts.first_attempt_key``; ``tests/groups/test_alerts.py`` has the rest)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, NoReturn

import pytest
from sqlalchemy.orm import Session, sessionmaker

from neigou.groups import alerts
from neigou.groups.alerts import ALERT_JOB, SENDING_LEASE, TICK_JOB, alert_key
from neigou.groups.models import AlertDelivery, DeliveryStatus
from neigou.kit import jobs
from tests.groups.test_alerts import DAY, MORNING, world
from tests.robots import Robot, robot

# the robot these tests send to listens on 127.0.0.1
pytestmark = pytest.mark.local_receivers

__all__ = ["robot", "world"]  # the fixtures, shared with the alerts' tests


def _killed(*_args: object, **_kwargs: object) -> NoReturn:
    raise SystemExit("killed")


def _kill_first_run(runner: jobs.JobRunner, program_id: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run the date's first attempt and kill it while it builds the alert: the key stays taken (a killed
    process frees nothing), the delivery and the alert rows roll back."""
    build = alerts.build_alerts
    monkeypatch.setattr(alerts, "build_alerts", _killed)
    monkeypatch.setattr(jobs, "_forget", lambda *_args: None)
    payload = {"program_id": program_id, "date": DAY.isoformat()}
    with pytest.raises(SystemExit):
        runner.run(ALERT_JOB, key=alert_key(program_id, DAY), payload=payload, at=MORNING)
    monkeypatch.setattr(alerts, "build_alerts", build)


def _tick(runner: jobs.JobRunner, at: datetime, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(alerts, "utcnow", lambda: at)  # the lease is judged on the tick's clock
    assert runner.run(TICK_JOB, key=f"tick@{at.isoformat()}", payload={}, at=at)


def test_an_alert_killed_before_its_claim_is_sent_by_a_later_tick(
    *,
    jobs_runner: jobs.JobRunner,
    factory: sessionmaker[Session],
    world: dict[str, Any],
    robot: Robot,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    program_id = world["program"]["id"]
    _kill_first_run(jobs_runner, program_id, monkeypatch)
    with factory() as session:
        assert session.get(jobs.JobRun, alert_key(program_id, DAY)) is not None
        assert session.query(AlertDelivery).count() == 0
    _tick(jobs_runner, MORNING + timedelta(minutes=1), monkeypatch)
    assert robot.received == [], "a run taken a moment ago may still be on its way"
    _tick(jobs_runner, MORNING + SENDING_LEASE + timedelta(minutes=50), monkeypatch)
    assert len(robot.received) == 1
    _tick(jobs_runner, MORNING + timedelta(hours=2), monkeypatch)
    assert len(robot.received) == 1, "sent once"
    with factory() as session:
        delivery = session.query(AlertDelivery).one()
        assert (delivery.status, delivery.attempts) == (DeliveryStatus.SENT, 1)


def test_restarts_of_a_date_killed_every_time_stop(
    *,
    jobs_runner: jobs.JobRunner,
    factory: sessionmaker[Session],
    world: dict[str, Any],
    robot: Robot,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A date whose every run is killed before its claim is restarted ``MAX_ATTEMPTS`` times under keys
    of their own, not every hour for ever."""
    program_id = world["program"]["id"]
    build = alerts.build_alerts
    monkeypatch.setattr(alerts, "build_alerts", _killed)
    monkeypatch.setattr(jobs, "_forget", lambda *_args: None)
    payload = {"program_id": program_id, "date": DAY.isoformat()}
    keys = []
    for hour in range(alerts.MAX_ATTEMPTS + 1):
        at = MORNING + timedelta(hours=hour)
        with factory() as session:
            key = alerts.first_attempt_key(session, program_id, DAY, at)
        assert key is not None
        keys.append(key)
        with pytest.raises(SystemExit):
            jobs_runner.run(ALERT_JOB, key=key, payload=payload, at=at)
    base = alert_key(program_id, DAY)
    assert keys == [base, *(f"{base}~{n}" for n in range(2, alerts.MAX_ATTEMPTS + 2))]
    late = MORNING + timedelta(hours=12)  # 22:00 in Shanghai: the tick still queues the 24th
    with factory() as session:
        assert alerts.first_attempt_key(session, program_id, DAY, late) is None
    monkeypatch.setattr(alerts, "build_alerts", build)
    _tick(jobs_runner, late, monkeypatch)
    assert robot.received == []
    with factory() as session:
        assert session.query(AlertDelivery).count() == 0
