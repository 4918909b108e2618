"""A job for the tests that run a real ``neigou worker``: the worker's process imports this module before
it starts, so its registry holds the job (``tests/kit/test_worker_process.py``)."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from neigou.kit import jobs
from neigou.kit.jobs import JobRun

SLOW = "tests.slow"


@jobs.job(SLOW)
def _slow(session: Session, payload: dict[str, Any], at: datetime) -> None:
    """Says it started (a file), takes ``seconds``, then records its end (a row, committed with the run)."""
    Path(payload["started"]).write_text("started", encoding="utf-8")
    time.sleep(payload["seconds"])
    session.add(JobRun(key=payload["mark"], name="tests.slow_done", finished_at=at))
