"""A failed job keeps no error text in the queue's store: huey would keep its ``repr`` and whole
traceback there (a database error's DETAIL and bound values), in Redis or the jobs file."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pytest
from fastapi import FastAPI
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit import jobs

OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
DETAIL = (
    f'duplicate key value violates unique constraint "uq"\nDETAIL:  Key (openid)=({OPENID}) already exists.'
)


@jobs.job("tests.refused_by_the_database")
def _refused(_session: Session, _payload: dict[str, Any], _at: Any) -> None:
    raise IntegrityError("INSERT INTO t (openid) VALUES (%(o)s)", {"o": OPENID}, Exception(DETAIL))


def test_a_failed_job_leaves_no_error_text_in_the_queue(
    tmp_path: Path, factory: sessionmaker[Session]
) -> None:
    path = tmp_path / "jobs.db"
    runner = jobs.JobRunner(jobs.make_huey("in-process", redis_url=None, jobs_path=str(path)), factory)
    runner.enqueue("tests.refused_by_the_database", "refused-1", {})
    task = runner.huey.dequeue()
    assert task is not None
    runner.huey.execute(task)  # fails, as a consumer's worker runs it
    assert runner.huey.result_count() == 0
    assert OPENID.encode() not in path.read_bytes()


class _RefusingSession:
    """A session whose statement the database refuses, naming its bound value (the job's key)."""

    def execute(self, *_args: Any) -> None:
        raise OperationalError("DELETE FROM job_runs WHERE key = %(k)s", {"k": OPENID}, Exception(DETAIL))

    def commit(self) -> None:
        return None

    def rollback(self) -> None:
        return None


def test_a_key_that_cannot_be_freed_is_logged_without_the_statements_values(
    app: FastAPI, capfd: pytest.CaptureFixture[str]
) -> None:
    del app  # built for its logging set-up
    capfd.readouterr()
    jobs._forget(cast(Session, _RefusingSession()), "tests.job@2026-12-06T00:00")
    err = capfd.readouterr().err
    assert "job.key_kept" in err
    assert "tests.job@2026-12-06T00:00" in err  # the job's key, under ``run``
    assert "sqlalchemy.exc.OperationalError" in err
    assert OPENID not in err
    assert "DETAIL" not in err
