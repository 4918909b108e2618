"""The daily group alert keeps the robots' 20 messages a minute (``kit.robot_budget``): over its robot's
20 it is not sent and its attempt is given back, queued again a minute later; a robot's ``errcode 45009``
gives the attempt back until its last attempt would have come; an alert whose run died during the send
is failed once its lease is over, as it may have been posted, never sent twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.groups import alerts, webhook
from neigou.groups.alerts import ROBOT_BUSY, SENDING_LEASE, TICK_JOB, deliver_alert
from neigou.groups.models import AlertDelivery, DeliveryStatus
from neigou.kit import jobs, robot_budget
from neigou.programs.service import require_program
from tests.feed.conftest import app_settings
from tests.groups.test_alerts import DAY, MORNING, world
from tests.robots import Robot, robot

# the robots these tests send to listen on 127.0.0.1
pytestmark = pytest.mark.local_receivers

__all__ = ["robot", "world"]  # the fixtures, shared with the alerts' tests
LIMITED = {"errcode": robot_budget.RATE_LIMITED_ERRCODE, "errmsg": "api freq out of limit"}


class Killed(BaseException):
    """The sending run's death during the send (nothing after it runs, the claim stays)."""


def _tick(runner: jobs.JobRunner, at: datetime) -> None:
    assert runner.run(TICK_JOB, key=f"tick-{at.isoformat()}", payload={}, at=at)


def _delivery(factory: sessionmaker[Session]) -> tuple[DeliveryStatus, int, str | None]:
    with factory() as session:
        found = session.scalars(select(AlertDelivery)).one()
        return found.status, found.attempts, found.detail


def test_the_21st_message_of_a_minute_waits_for_a_later_tick_without_losing_an_attempt(
    jobs_runner: jobs.JobRunner,
    client: TestClient,
    factory: sessionmaker[Session],
    world: dict[str, Any],
    robot: Robot,
) -> None:
    for _ in range(20):  # the robot's 20 this minute, through other senders
        assert robot_budget.take(robot.url, app_settings(client))
    _tick(jobs_runner, MORNING)
    assert robot.received == []
    assert _delivery(factory) == (DeliveryStatus.FAILED, 0, ROBOT_BUSY)
    robot_budget.forget()  # a minute later
    _tick(jobs_runner, MORNING + timedelta(hours=1))
    assert len(robot.received) == 1
    assert _delivery(factory) == (DeliveryStatus.SENT, 1, "ok")


def test_an_alert_over_its_robots_budget_is_queued_again_a_minute_later_not_at_the_next_tick(
    jobs_runner: jobs.JobRunner,
    client: TestClient,
    factory: sessionmaker[Session],
    world: dict[str, Any],
    robot: Robot,
) -> None:
    """The given-back attempt is put on the job queue's own schedule a budget's window later, under the
    key the next tick would queue it with (so the two never both send)."""
    for _ in range(20):
        assert robot_budget.take(robot.url, app_settings(client))
    queued_from = datetime.now(UTC).replace(tzinfo=None)  # huey's clock
    _tick(jobs_runner, MORNING)
    assert _delivery(factory) == (DeliveryStatus.FAILED, 0, ROBOT_BUSY)
    program_id = world["program"]["id"]
    with factory() as session:  # the key the next tick would queue it with (``queue_alert``)
        given_back = session.scalars(select(AlertDelivery)).one().attempted_at
    key = alerts.alert_key(program_id, DAY, 1, given_back=given_back)
    (task,) = [t for t in jobs_runner.huey.scheduled() if t.args[1] == key]
    assert task.args == (alerts.ALERT_JOB, key, {"program_id": program_id, "date": DAY.isoformat()})
    queued_by = datetime.now(UTC).replace(tzinfo=None)
    # A window after it was given back, however long the steps above took on a loaded machine.
    window = robot_budget.WINDOW
    assert window == timedelta(minutes=1)
    assert queued_from + window <= task.eta <= queued_by + window
    robot_budget.forget()  # a minute later
    jobs_runner.huey.execute(task, timestamp=task.eta)
    assert len(robot.received) == 1
    assert _delivery(factory) == (DeliveryStatus.SENT, 1, "ok")
    _tick(jobs_runner, MORNING + timedelta(hours=1))  # the next tick sends nothing more
    assert len(robot.received) == 1


def test_a_robot_answering_45009_gives_the_attempt_back_until_the_last_attempt_would_come(
    *,
    jobs_runner: jobs.JobRunner,
    client: TestClient,
    factory: sessionmaker[Session],
    world: dict[str, Any],
    robot: Robot,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = [MORNING]  # when the queued alert is sent, in the story's time
    monkeypatch.setattr(alerts, "not_before_now", lambda _at: clock[0])
    robot.answers = [LIMITED, LIMITED]
    _tick(jobs_runner, MORNING)
    assert _delivery(factory) == (DeliveryStatus.FAILED, 0, robot_budget.RATE_LIMITED)
    with factory() as session:
        last = alerts.give_back_until(require_program(session, world["program"]["id"]), DAY)
    clock[0] = last
    _tick(jobs_runner, last)  # past its last attempt's tick: a refusal like any other
    assert _delivery(factory) == (DeliveryStatus.FAILED, 1, robot_budget.RATE_LIMITED)
    _tick(jobs_runner, last + timedelta(hours=1))
    assert _delivery(factory) == (DeliveryStatus.SENT, 2, "ok")
    assert len(robot.received) == 3


def test_an_alert_whose_run_died_during_the_send_is_failed_not_sent_again(
    *,
    jobs_runner: jobs.JobRunner,
    client: TestClient,
    factory: sessionmaker[Session],
    world: dict[str, Any],
    robot: Robot,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    program_id, running = world["program"]["id"], app_settings(client)

    def killed(*_args: object, **_kwargs: object) -> None:
        raise Killed

    with monkeypatch.context() as patched:
        patched.setattr(webhook, "send_markdown", killed)
        with factory() as session, pytest.raises(Killed):
            deliver_alert(session, program_id=program_id, on=DAY, at=MORNING, settings=running)
    assert _delivery(factory) == (DeliveryStatus.SENDING, 1, None)  # claimed, never answered
    later = MORNING + SENDING_LEASE
    monkeypatch.setattr(alerts, "utcnow", lambda: later)
    _tick(jobs_runner, later)
    assert robot.received == []
    assert _delivery(factory) == (DeliveryStatus.FAILED, 1, robot_budget.LEASE_LOST)
    with factory() as session:  # an operator's run, or a job left queued, sends nothing either
        deliver_alert(session, program_id=program_id, on=DAY, at=later + timedelta(hours=1), settings=running)
    _tick(jobs_runner, later + timedelta(hours=2))
    assert robot.received == []
    assert _delivery(factory) == (DeliveryStatus.FAILED, 1, robot_budget.LEASE_LOST)
