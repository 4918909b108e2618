"""A failed job keeps no error text in the queue's store: huey would keep its ``repr`` and whole
traceback there (a database error's DETAIL and bound values), in Redis or the jobs file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError
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
