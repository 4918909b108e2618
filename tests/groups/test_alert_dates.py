"""An operator's alert run covers a day that has ended in the program's time zone: today's or a later
date is refused, and the real morning alert of that date still goes out."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.groups import alerts
from neigou.kit import jobs
from tests.conftest import row_counts
from tests.groups.test_alerts import _tick, world
from tests.robots import Robot, robot

# the robots and receivers these tests send to listen on 127.0.0.1
pytestmark = pytest.mark.local_receivers

__all__ = ["robot", "world"]

EVENING = datetime(2026, 3, 24, 17, 0, tzinfo=UTC)  # 01:00 on 25 March in Shanghai, still the 24th in UTC


@pytest.mark.parametrize("day", ["2026-03-25", "2026-03-26", "2999-12-31"])
def test_today_or_a_later_date_is_refused(
    *,
    monkeypatch: pytest.MonkeyPatch,
    client: TestClient,
    factory: sessionmaker[Session],
    operator: dict[str, str],
    world: dict[str, Any],
    robot: Robot,
    day: str,
) -> None:
    monkeypatch.setattr(alerts, "utcnow", lambda: EVENING)
    before = row_counts(factory)
    url = f"/api/v1/programs/{world['program']['id']}/group-alerts/run"
    refused = client.post(url, json={"date": day}, headers=operator)
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "date_not_ended"
    assert day not in refused.json()["detail"]
    assert row_counts(factory) == before
    assert robot.received == []


def test_a_date_ended_in_the_programs_zone_is_sent_though_not_ended_in_utc(
    *,
    monkeypatch: pytest.MonkeyPatch,
    jobs_runner: jobs.JobRunner,
    client: TestClient,
    operator: dict[str, str],
    world: dict[str, Any],
    robot: Robot,
) -> None:
    monkeypatch.setattr(alerts, "utcnow", lambda: EVENING)
    url = f"/api/v1/programs/{world['program']['id']}/group-alerts/run"
    sent = client.post(url, json={"date": "2026-03-24"}, headers=operator)  # ended in Shanghai
    assert (sent.status_code, sent.json()["queued"]) == (202, True)
    assert len(robot.received) == 1


def test_the_real_alert_of_a_refused_date_goes_out_the_morning_after(
    *,
    monkeypatch: pytest.MonkeyPatch,
    jobs_runner: jobs.JobRunner,
    client: TestClient,
    operator: dict[str, str],
    world: dict[str, Any],
    robot: Robot,
) -> None:
    monkeypatch.setattr(alerts, "utcnow", lambda: EVENING)
    url = f"/api/v1/programs/{world['program']['id']}/group-alerts/run"
    assert client.post(url, json={"date": "2026-03-25"}, headers=operator).status_code == 422
    monkeypatch.setattr(alerts, "utcnow", lambda: datetime(2026, 3, 26, 2, 0, tzinfo=UTC))
    _tick(jobs_runner, datetime(2026, 3, 26, 2, 0, tzinfo=UTC), "tick-26")  # 10:00 on 26 March
    assert len(robot.received) == 1
    assert "3月25日" in robot.received[0]["body"]["markdown"]["content"]
