"""A full live code's robot alert keeps the robots' 20 messages a minute (``kit.robot_budget``): over its
robot's 20 it is neither claimed nor sent and a later retry sends it, no attempt taken; a robot's
``errcode 45009`` gives the attempt back until the message's last backoff; a message whose run died
during the send is failed once its lease is over, as it may have been posted, never sent twice."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.feed import full_alerts
from neigou.feed.full_alerts import MAX_ATTEMPTS
from neigou.groups import webhook
from neigou.groups.models import LiveCodeAlert, RobotAlertStatus
from neigou.integrations.events import backoff, waited
from neigou.kit import robot_budget
from neigou.kit.attempts import FIRST_ATTEMPT_GRACE
from tests.feed.conftest import app_settings
from tests.feed.test_full_alert_retries import Full, full, retry, the_alert
from tests.robots import Robot

# the robots these tests send to listen on 127.0.0.1
pytestmark = pytest.mark.local_receivers

__all__ = ["full"]  # the fixture, shared with the retries' tests
LIMITED = {"errcode": robot_budget.RATE_LIMITED_ERRCODE, "errmsg": "api freq out of limit"}


class Killed(BaseException):
    """The sending run's death during the send (nothing after it runs, the claim stays)."""


def _state(factory: sessionmaker[Session]) -> tuple[RobotAlertStatus | None, int, str | None]:
    alert = the_alert(factory)
    return alert.robot_status, alert.robot_attempts, alert.robot_detail


def test_the_21st_message_of_a_minute_waits_for_a_retry_without_losing_an_attempt(
    client: TestClient, factory: sessionmaker[Session], robot: Robot, full: Full
) -> None:
    for _ in range(20):  # the robot's 20 this minute, through other senders
        assert robot_budget.take(robot.url, app_settings(client))
    assert client.get(f"/g/{full.code}").status_code == 200  # the scan that finds every group full
    assert robot.received == []
    assert _state(factory) == (RobotAlertStatus.PENDING, 0, None)
    robot_budget.forget()  # the next minute
    due = the_alert(factory).robot_next_attempt_at
    assert due is not None
    retry(client, factory, due + FIRST_ATTEMPT_GRACE)
    assert len(robot.received) == 1
    assert _state(factory) == (RobotAlertStatus.SENT, 1, "ok")


def test_a_robot_answering_45009_gives_the_attempt_back_until_the_last_backoff(
    client: TestClient, factory: sessionmaker[Session], robot: Robot, full: Full
) -> None:
    robot.answers = [LIMITED, LIMITED]
    client.get(f"/g/{full.code}")
    assert _state(factory) == (RobotAlertStatus.PENDING, 0, robot_budget.RATE_LIMITED)
    last = the_alert(factory).created_at + waited(MAX_ATTEMPTS)
    retry(client, factory, last)  # past its last backoff: a refusal like any other
    assert _state(factory) == (RobotAlertStatus.PENDING, 1, robot_budget.RATE_LIMITED)
    due = the_alert(factory).robot_next_attempt_at
    assert due is not None
    retry(client, factory, due)
    assert _state(factory) == (RobotAlertStatus.SENT, 2, "ok")
    assert len(robot.received) == 3


def test_a_message_whose_run_died_during_the_send_is_failed_not_sent_again(
    client: TestClient,
    factory: sessionmaker[Session],
    robot: Robot,
    full: Full,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    robot.statuses = [503]  # the first attempt, at the scan, is refused
    client.get(f"/g/{full.code}")
    due = the_alert(factory).robot_next_attempt_at
    assert due is not None

    def killed(*_args: object, **_kwargs: object) -> None:
        raise Killed

    with monkeypatch.context() as patched:
        patched.setattr(full_alerts, "send_markdown", killed)
        with factory() as session:
            alert = session.scalars(select(LiveCodeAlert)).one()
            with pytest.raises(Killed):
                full_alerts.attempt(session, alert, at=due, settings=app_settings(client))
    assert _state(factory)[:2] == (RobotAlertStatus.PENDING, 2)  # claimed, never answered
    retry(client, factory, due + max(backoff(2), webhook.SEND_BOUND) + timedelta(seconds=1))
    assert len(robot.received) == 1
    assert _state(factory) == (RobotAlertStatus.FAILED, 2, robot_budget.LEASE_LOST)
    retry(client, factory, due + timedelta(days=1))
    assert len(robot.received) == 1
