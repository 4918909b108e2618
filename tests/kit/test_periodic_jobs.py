"""Scheduled runs: one run per schedule slot however late its copies come; a failed daily run retried, a
frequent job's failed run left to its next slot."""

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
    """A runner (jobs run at once) with two scheduled jobs: ``tests.settle`` at 18:30 every day (its
    failed runs retried), ``tests.drain`` every minute."""
    CALLS.clear()
    FAILURES.clear()
    monkeypatch.setattr(jobs, "REGISTRY", {})
    jobs.job("tests.settle", cron={"minute": "30", "hour": "18"}, retry_scheduled=True)(_settle)
    jobs.job("tests.drain", cron={"minute": "*"}, own_transactions=True)(_settle)
    return jobs.JobRunner(MemoryHuey("tests-periodic", immediate=True, results=False), factory)


def _fire(
    runner: jobs.JobRunner, at: datetime, monkeypatch: pytest.MonkeyPatch, name: str = "tests.settle"
) -> None:
    """One scheduler's copy of the scheduled run of ``name``, executed at ``at``."""
    monkeypatch.setattr(jobs, "utcnow", lambda: at)
    runner.periodic[name].call_local()


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


def test_a_frequent_jobs_failed_run_is_left_to_its_next_slot(
    runner: jobs.JobRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A job that runs every minute is tried once per slot: its next slot is the retry, and retries too
    would only multiply the load while the database is in trouble."""
    FAILURES.append(1)
    _fire(runner, SLOT, monkeypatch, "tests.drain")
    assert CALLS == []
    later = datetime.now(UTC).replace(tzinfo=None) + timedelta(minutes=1)
    assert runner.huey.read_schedule(later) == [], "no retry queued"
    assert runner.queued() == 0
    _fire(runner, SLOT + timedelta(minutes=1), monkeypatch, "tests.drain")
    assert len(CALLS) == 1, "the next slot did the work"


def test_only_the_daily_jobs_retry_their_scheduled_runs() -> None:
    """Every job scheduled less often than hourly asks for retries; none scheduled more often does."""
    import neigou.web.app  # noqa: F401 - registers every domain's jobs

    retried = set()
    for spec in jobs.REGISTRY.values():
        if not spec.cron:
            continue
        daily = spec.cron.get("hour", "*") != "*" and spec.cron.get("minute", "*").isdigit()
        assert spec.retry_scheduled == daily, spec.name
        retried |= {spec.name} if spec.retry_scheduled else set()
    assert {"orders.settle_daily", "risk.scan_nightly", "crm.derive_nightly"} <= retried
