"""A group alert whose send broke off (a fault while sending or reading the answer) may be in the group
already, as one whose run died during the send: it is failed for good, never posted again; one refused
before posting stays retryable (``tests/groups/test_alerts.py``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.groups import alerts
from neigou.groups.alerts import TICK_JOB, deliver_alert
from neigou.groups.models import AlertDelivery, DeliveryStatus
from neigou.kit import jobs
from tests.feed.conftest import app_settings
from tests.groups.test_alerts import DAY, MORNING, world
from tests.robots import Robot, robot

# the robot these tests send to listens on 127.0.0.1
pytestmark = pytest.mark.local_receivers

__all__ = ["robot", "world"]  # the fixtures, shared with the alerts' tests


def test_a_send_that_broke_off_is_never_sent_again(
    *,
    jobs_runner: jobs.JobRunner,
    client: TestClient,
    factory: sessionmaker[Session],
    world: dict[str, Any],
    robot: Robot,
) -> None:
    """A fault while sending or reading the answer may come after the robot posted the alert: as after a
    lost lease, the date's alert is failed for good, and neither the next tick nor an operator's run
    posts it again (a refusal before posting stays retryable: the tests above)."""

    def answer(_request: httpx.Request) -> httpx.Response:
        raise LookupError("a fault of the sender")

    program_id = world["program"]["id"]
    with factory() as session:
        deliver_alert(
            session,
            program_id=program_id,
            on=DAY,
            at=MORNING,
            settings=app_settings(client),
            transport=httpx.MockTransport(answer),
        )
    assert jobs_runner.run(TICK_JOB, key="tick-after-the-fault", payload={}, at=MORNING + timedelta(hours=1))
    with factory() as session:
        assert alerts.queue_alert(session, program_id=program_id, on=DAY) is None
        deliver_alert(
            session,
            program_id=program_id,
            on=DAY,
            at=MORNING + timedelta(hours=2),
            settings=app_settings(client),
        )
    assert robot.received == []
    with factory() as session:
        failed = session.scalars(select(AlertDelivery)).one()
        assert (failed.status, failed.attempts, failed.detail) == (
            DeliveryStatus.FAILED,
            1,
            "LookupError while sending; it may have been posted",
        )
