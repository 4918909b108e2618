"""An "all groups full" robot alert whose queued first attempt never ran is sent by the minute's
retries once ``kit.attempts.FIRST_ATTEMPT_GRACE`` has passed, once however often they run."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.feed.full_alerts import ALERT_JOB
from neigou.groups.models import RobotAlertStatus
from neigou.kit import jobs
from neigou.kit.attempts import FIRST_ATTEMPT_GRACE
from tests.feed.test_full_alert_retries import Full, full, retry, the_alert
from tests.robots import Robot

__all__ = ["full"]  # the fixture, shared with the retries' tests

pytestmark = pytest.mark.local_receivers  # its receiver listens on 127.0.0.1


def test_a_lost_first_attempt_is_sent_by_the_retries(
    client: TestClient,
    factory: sessionmaker[Session],
    robot: Robot,
    full: Full,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    queue = jobs.defer

    def defer(session: Session, job: str, *, key: str, payload: dict[str, Any] | None = None) -> None:
        if job != ALERT_JOB:  # its enqueue failed
            queue(session, job, key=key, payload=payload)

    monkeypatch.setattr(jobs, "defer", defer)
    assert client.get(f"/g/{full.code}").status_code == 200  # the scan that finds every group full
    lost = the_alert(factory)
    assert (lost.robot_status, lost.robot_attempts) == (RobotAlertStatus.PENDING, 0)
    assert lost.robot_next_attempt_at is not None
    due = lost.robot_next_attempt_at

    retry(client, factory, due + FIRST_ATTEMPT_GRACE - timedelta(seconds=1))  # its job may still come
    assert robot.received == []
    retry(client, factory, due + FIRST_ATTEMPT_GRACE)
    retry(client, factory, due + FIRST_ATTEMPT_GRACE)
    assert len(robot.received) == 1
    sent = the_alert(factory)
    assert (sent.robot_status, sent.robot_attempts) == (RobotAlertStatus.SENT, 1)
