"""Scheduled runs: one run per schedule slot however late its copies come, and a failed run retried."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from huey import MemoryHuey, crontab
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit import jobs

SLOT = datetime(2026, 12, 7, 18, 30, tzinfo=UTC)
CALLS: list[str] = []
FAILURES: list[int] = []


def _settle(_session: Session, _payload: dict[str, Any], at: datetime) -> None:
    if FAILURES:
        FAILURES.pop()
        raise OperationalError("UPDATE settlements", {}, Exception("deadlock detected"))
    CALLS.append(at.isoformat())


@pytest.fixture
def runner(factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch) -> jobs.JobRunner:
    """A runner (jobs run at once) with one scheduled job, ``tests.settle`` at 18:30 every day."""
    CALLS.clear()
    FAILURES.clear()
    monkeypatch.setattr(jobs, "REGISTRY", {})
    jobs.job("tests.settle", cron={"minute": "30", "hour": "18"})(_settle)
    return jobs.JobRunner(MemoryHuey("tests-periodic", immediate=True, results=False), factory)


def _fire(runner: jobs.JobRunner, at: datetime, monkeypatch: pytest.MonkeyPatch) -> None:
    """One scheduler's copy of the scheduled run, executed at ``at``."""
    monkeypatch.setattr(jobs, "utcnow", lambda: at)
    runner.periodic["tests.settle"].call_local()


def test_copies_of_a_slot_run_once_however_late(
    runner: jobs.JobRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fire(runner, SLOT, monkeypatch)
    _fire(runner, SLOT + timedelta(seconds=61), monkeypatch)  # another scheduler's copy, a minute late
    _fire(runner, SLOT + timedelta(hours=3), monkeypatch)
    assert len(CALLS) == 1
    _fire(runner, SLOT + timedelta(days=1, seconds=5), monkeypatch)  # the next day's slot
    assert len(CALLS) == 2


def test_a_slot_is_the_latest_matching_minute() -> None:
    assert jobs.schedule_slot(crontab(minute="30", hour="18"), SLOT + timedelta(hours=20)) == SLOT
    assert jobs.schedule_slot(crontab(minute="*/5"), SLOT + timedelta(minutes=7, seconds=3)) == SLOT.replace(
        minute=35
    )


def test_a_failed_scheduled_run_is_retried_under_its_slot(
    runner: jobs.JobRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    FAILURES.append(1)  # the first run meets a deadlock
    _fire(runner, SLOT, monkeypatch)
    assert CALLS == []
    later = datetime.now(UTC).replace(tzinfo=None) + timedelta(minutes=1)  # huey's schedule: naive UTC
    retries = runner.huey.read_schedule(later)
    assert len(retries) == 1
    for task in retries:
        runner.huey.execute(task, later)
    assert len(CALLS) == 1, "the retry did the slot's work"
    _fire(runner, SLOT + timedelta(minutes=2), monkeypatch)
    assert len(CALLS) == 1, "under the slot's key"
