"""The Redis job queue: named after its database, so deployments sharing a Redis never run each other's
jobs; and ``neigou worker`` as a process of its own, whose stop lets its running jobs end."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from huey.api import Huey
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit import jobs
from neigou.kit.jobs import JobRun
from tests.conftest import SECRET
from tests.kit.worker_jobs import SLOW
from tests.local_redis import REDIS_URL, local_redis

ROOT = Path(__file__).resolve().parents[2]
RAN: list[str] = []
STALLED_AFTER = 120.0  # seconds: the worker stalled (not a measure of speed)
START = "import tests.kit.worker_jobs; from neigou.cli.main import app; app(['worker', '--threads', '1'])"


@jobs.job("tests.namespaced")
def _namespaced(_session: Session, payload: dict[str, Any], _at: Any) -> None:
    RAN.append(payload["by"])


@contextmanager
def _queue(database_url: str, tmp_path: Path) -> Iterator[Huey]:
    """The queue a worker on ``database_url`` and the local Redis consumes; emptied on the way out."""
    local_redis().close()
    huey = jobs.make_huey(
        "redis", redis_url=REDIS_URL, jobs_path=str(tmp_path / "jobs.db"), database_url=database_url
    )
    try:
        yield huey
    finally:
        huey.storage.flush_all()


def _worker(database_url: str, tmp_path: Path, log_path: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "NEIGOU_DATABASE_URL": database_url,
        "NEIGOU_SECRET_KEY": SECRET,
        "NEIGOU_JOBS_BACKEND": "redis",
        "NEIGOU_REDIS_URL": REDIS_URL,
        "NEIGOU_JOBS_PATH": str(tmp_path / "jobs.db"),
        "NEIGOU_ANALYTICS_URL": f"duckdb:///{tmp_path / 'analytics.duckdb'}",
        "NEIGOU_CLICK_WRITER": "thread",
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(ROOT), str(ROOT / "src"), os.environ.get("PYTHONPATH")])
        ),
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with log_path.open("wb") as log:
        return subprocess.Popen([sys.executable, "-c", START], cwd=ROOT, env=env, stdout=log, stderr=log)


def _wait_for(path: Path, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + STALLED_AFTER
    while not path.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            pytest.fail("the job did not start:\n" + log_path.read_text(errors="replace")[-3000:])
        time.sleep(0.05)


def test_sigterm_lets_the_running_job_finish_and_commit(
    database_url: str, factory: sessionmaker[Session], tmp_path: Path
) -> None:
    """Docker, Kubernetes and systemd stop a process with SIGTERM: the job it is running ends and commits,
    and the worker then exits cleanly (huey's default took SIGTERM as "stop now", mid-job)."""
    started, mark = tmp_path / "started", f"slow-done-{uuid.uuid4().hex[:8]}"
    log_path = tmp_path / "worker.log"
    with _queue(database_url, tmp_path) as huey:
        runner = jobs.JobRunner(huey, factory)
        runner.enqueue(SLOW, f"slow-{mark}", {"started": str(started), "seconds": 3, "mark": mark})
        process = _worker(database_url, tmp_path, log_path)
        try:
            _wait_for(started, process, log_path)
            process.send_signal(signal.SIGTERM)
            returncode = process.wait(timeout=STALLED_AFTER)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    log = log_path.read_text(errors="replace")[-3000:]
    assert returncode == 0, log
    with factory() as session:
        assert session.get(JobRun, mark) is not None, log  # the job's work committed
        assert session.get(JobRun, f"slow-{mark}") is not None, log  # and so did its run's key


def test_a_deployment_never_runs_the_jobs_of_another_database_on_the_same_redis(
    database_url: str, factory: sessionmaker[Session], tmp_path: Path
) -> None:
    """Staging and production (or two test runs) on one Redis: B's consumer leaves A's job alone."""
    RAN.clear()
    other_url = database_url + "-other"  # names B's queue; B's runs still use this test's database
    with _queue(database_url, tmp_path) as huey_a, _queue(other_url, tmp_path) as huey_b:
        a, b = jobs.JobRunner(huey_a, factory), jobs.JobRunner(huey_b, factory)
        a.enqueue("tests.namespaced", "namespaced-1", {"by": "a"})
        b.start_in_process(workers=1)
        try:
            time.sleep(3)  # B's consumer polls its queue several times over
            assert RAN == []
            assert a.queued() == 1
        finally:
            b.stop()
        a.start_in_process(workers=1)
        try:
            deadline = time.monotonic() + STALLED_AFTER
            while not RAN and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            a.stop()
    assert RAN == ["a"]
