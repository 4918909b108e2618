"""Jobs run after commit, never after rollback, once per key, in-process and on Redis."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from huey import RedisHuey, SqliteHuey
from prometheus_client import REGISTRY
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth import service as auth
from neigou.auth.models import ApiToken, Role
from neigou.kit import jobs
from neigou.kit.clock import utcnow
from neigou.kit.db import transaction
from neigou.kit.jobs import JobRun
from tests.conftest import TEST_ACTOR

CALLS: list[dict[str, Any]] = []


@jobs.job("tests.record")
def _record(_session: Session, payload: dict[str, Any], _at: Any) -> None:
    CALLS.append(payload)


@jobs.job("tests.fail")
def _fail(_session: Session, _payload: dict[str, Any], _at: Any) -> None:
    raise RuntimeError("the job failed")


@jobs.job("tests.own_transactions", own_transactions=True)
def _own(session: Session, payload: dict[str, Any], _at: Any) -> None:
    # The key is committed before the handler: another connection sees it taken, and on SQLite may
    # write at once (the job's session holds no transaction, hence no write lock).
    with transaction(jobs.current_runner().session_factory) as other:
        CALLS.append({"taken": other.get(JobRun, payload["key"]) is not None})
        other.add(JobRun(key=f"other-{payload['key']}", name="tests.other", finished_at=utcnow()))
    session.add(JobRun(key=f"mine-{payload['key']}", name="tests.mine", finished_at=utcnow()))
    session.commit()  # the job commits its own work
    if payload.get("fail"):
        raise RuntimeError("the job failed after its commit")


@pytest.fixture(autouse=True)
def _reset_calls() -> None:
    CALLS.clear()


def test_deferred_job_runs_after_commit_only(
    jobs_runner: jobs.JobRunner, factory: sessionmaker[Session]
) -> None:
    with transaction(factory) as session:
        jobs.defer(session, "tests.record", key="k-commit", payload={"n": 1})
        assert CALLS == []  # not before the commit
    assert CALLS == [{"n": 1}]

    def failing_request() -> None:
        with transaction(factory) as session:
            jobs.defer(session, "tests.record", key="k-rollback", payload={"n": 2})
            raise RuntimeError("the request failed")

    with pytest.raises(RuntimeError):
        failing_request()
    assert CALLS == [{"n": 1}]
    with factory() as session:
        assert session.get(JobRun, "k-rollback") is None


def test_a_delayed_job_waits_in_the_queues_schedule(
    jobs_runner: jobs.JobRunner, factory: sessionmaker[Session]
) -> None:
    """``delay`` puts the job on huey's own schedule, after the commit: it runs once the delay is over."""
    with transaction(factory) as session:
        jobs.defer(session, "tests.record", key="k-later", payload={"n": 4}, delay=timedelta(seconds=60))
    assert CALLS == []
    (task,) = [t for t in jobs_runner.huey.scheduled() if t.args[1] == "k-later"]
    assert task.args == ("tests.record", "k-later", {"n": 4})
    jobs_runner.huey.execute(task, timestamp=task.eta)
    assert CALLS == [{"n": 4}]


def test_same_key_runs_once(jobs_runner: jobs.JobRunner, factory: sessionmaker[Session]) -> None:
    for _ in range(3):
        with transaction(factory) as session:
            jobs.defer(session, "tests.record", key="same-key", payload={"n": 7})
    assert CALLS == [{"n": 7}]
    assert jobs_runner.run("tests.record", key="same-key", payload={}, at=utcnow()) is False


def test_a_failed_run_is_counted_and_leaves_the_key_free(
    jobs_runner: jobs.JobRunner, factory: sessionmaker[Session]
) -> None:
    labels = {"job": "tests.fail"}
    before = REGISTRY.get_sample_value("neigou_job_failures_total", labels) or 0.0
    with pytest.raises(RuntimeError):
        jobs_runner.run("tests.fail", key="fails-once", payload={}, at=utcnow())
    assert REGISTRY.get_sample_value("neigou_job_failures_total", labels) == before + 1
    with factory() as session:
        assert session.get(JobRun, "fails-once") is None  # a retry may run it


def test_a_job_with_its_own_transactions_gets_its_key_committed_first(
    jobs_runner: jobs.JobRunner, factory: sessionmaker[Session]
) -> None:
    assert jobs_runner.run("tests.own_transactions", key="own-1", payload={"key": "own-1"}, at=utcnow())
    assert CALLS == [{"taken": True}]
    assert (
        jobs_runner.run("tests.own_transactions", key="own-1", payload={"key": "own-1"}, at=utcnow()) is False
    )
    with factory() as session:
        assert session.get(JobRun, "own-1") is not None
        written = set(
            session.scalars(select(JobRun.key).where(JobRun.name.in_(["tests.other", "tests.mine"])))
        )
        assert written == {"other-own-1", "mine-own-1"}


def test_a_failed_job_with_its_own_transactions_frees_its_key(
    jobs_runner: jobs.JobRunner, factory: sessionmaker[Session]
) -> None:
    payload = {"key": "own-2", "fail": True}
    with pytest.raises(RuntimeError):
        jobs_runner.run("tests.own_transactions", key="own-2", payload=payload, at=utcnow())
    with factory() as session:
        assert session.get(JobRun, "own-2") is None  # a retry may run it
        # What it committed stays: such a job's steps are safe to repeat.
        assert session.get(JobRun, "mine-own-2") is not None


def test_unknown_job_is_refused(factory: sessionmaker[Session]) -> None:
    with factory() as session, pytest.raises(KeyError):
        jobs.defer(session, "no.such.job", key="x")


def test_purge_expired_sessions(jobs_runner: jobs.JobRunner, factory: sessionmaker[Session]) -> None:
    now = utcnow()
    with transaction(factory) as session:
        auth.create_session(session, role=Role.OPERATOR, hours=1, label="old", at=now - timedelta(days=3))
        auth.create_session(session, role=Role.OPERATOR, hours=12, label="fresh", at=now)
        auth.create_token(session, role=Role.INTEGRATION, actor=TEST_ACTOR, at=now - timedelta(days=400))
    assert jobs_runner.run("auth.purge_expired_sessions", key="purge-1", payload={}, at=now)
    with factory() as session:
        labels = set(session.scalars(select(ApiToken.label)))
    assert labels == {"fresh", ""}


def test_purge_job_runs_forgets_only_old_keys(
    jobs_runner: jobs.JobRunner, factory: sessionmaker[Session]
) -> None:
    now = utcnow()
    with transaction(factory) as session:
        session.add(
            JobRun(
                key="old-run", name="tests.record", finished_at=now - jobs.JOB_RUNS_KEPT - timedelta(hours=1)
            )
        )
        session.add(JobRun(key="recent-run", name="tests.record", finished_at=now - timedelta(days=2)))
    assert jobs_runner.run("kit.purge_job_runs", key="purge-runs-1", payload={}, at=now)
    with factory() as session:
        keys = set(session.scalars(select(JobRun.key)))
    assert "old-run" not in keys
    assert {"recent-run", "purge-runs-1"} <= keys


def _wait_for(predicate: Any, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


def _runs(factory: sessionmaker[Session], key: str) -> int:
    with factory() as session:
        return int(session.scalar(select(func.count()).select_from(JobRun).where(JobRun.key == key)) or 0)


def test_in_process_consumer_runs_queued_jobs(factory: sessionmaker[Session], tmp_path: Path) -> None:
    runner = jobs.JobRunner(SqliteHuey("neigou-test", filename=str(tmp_path / "q.db")), factory)
    jobs.install(runner)
    runner.start_in_process(workers=2)
    try:
        with transaction(factory) as session:
            jobs.defer(session, "tests.record", key="threaded", payload={"n": 3})
            jobs.defer(session, "tests.record", key="threaded", payload={"n": 3})
        _wait_for(lambda: _runs(factory, "threaded") == 1)
    finally:
        runner.stop()
    assert CALLS == [{"n": 3}]


def test_redis_queue_with_worker(factory: sessionmaker[Session]) -> None:
    url = "redis://127.0.0.1:6379/15"
    redis.Redis.from_url(url).ping()
    runner = jobs.JobRunner(RedisHuey(f"neigou-test-{uuid.uuid4().hex[:8]}", url=url), factory)
    jobs.install(runner)
    with transaction(factory) as session:
        jobs.defer(session, "tests.record", key="via-redis", payload={"n": 5})
    assert runner.huey.pending_count() == 1  # queued in Redis, not run by the web process
    runner.start_in_process(workers=1)
    try:
        _wait_for(lambda: _runs(factory, "via-redis") == 1)
    finally:
        runner.stop()
        runner.huey.storage.flush_all()
    assert CALLS == [{"n": 5}]


def test_in_process_queue_makes_its_directory(tmp_path: Path) -> None:
    path = tmp_path / "fresh" / "state" / "jobs.db"
    huey = jobs.make_huey("in-process", redis_url=None, jobs_path=str(path))
    huey.storage.enqueue(b"x")
    assert path.exists()
