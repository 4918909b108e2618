"""A graceful stop of the job consumer tells the process's delivery runs to claim nothing more at once:
a run's budget (``kit.attempts.RUN_BUDGET_SECONDS``) outlasts the stop's wait (``NEIGOU_WORKER_SHUTDOWN_S``),
and a run still claiming rows when the wait ends dies mid-send with the process."""

from __future__ import annotations

import threading
import time
from datetime import datetime
from typing import Any

import pytest
from huey import MemoryHuey
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit import attempts, jobs

STALLED_AFTER = 30.0  # seconds: the run never saw the stop (not a measure of speed)


def test_a_budget_is_spent_once_the_consumer_is_stopping() -> None:
    budget = attempts.RunBudget(lambda: 0.0)  # a clock that never moves: time alone never spends it
    assert not budget.spent()
    attempts.begin_stop()
    assert budget.spent()
    assert attempts.RunBudget(lambda: 0.0).spent(), "a run started during the stop claims nothing"
    attempts.stop_ended()
    assert not budget.spent()


def test_the_workers_graceful_stop_ends_a_delivery_run_within_its_wait(
    factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run that claims rows until its budget is spent (as every delivery run does) ends as soon as the
    worker's graceful stop begins, long before its 45 s, so the stop's wait sees it finish."""
    started, finished = threading.Event(), threading.Event()

    def deliver(_session: Session, _payload: dict[str, Any], _at: datetime) -> None:
        budget = attempts.RunBudget(time.monotonic)
        started.set()
        while not budget.spent():
            time.sleep(0.02)  # claim and send the next row
        finished.set()

    monkeypatch.setattr(jobs, "REGISTRY", {})
    jobs.job("tests.deliver", own_transactions=True)(deliver)
    runner = jobs.JobRunner(MemoryHuey("tests-stopping", results=False), factory)
    consumer = runner.consumer(1, shutdown_timeout=10)
    monkeypatch.setattr(consumer, "_set_signal_handlers", lambda: None)  # the test process keeps its own
    consumer.start()
    try:
        runner.enqueue("tests.deliver", "deliver-1", {})
        assert started.wait(STALLED_AFTER), "the run did not start"
        assert not attempts.stopping()
        began = time.monotonic()
        consumer.stop(graceful=True)
        assert finished.is_set(), "the run was still claiming rows when the stop's wait ended"
        assert time.monotonic() - began < 5
    finally:
        attempts.begin_stop()  # a run left over from a failed test ends too
        consumer.stop(graceful=True)
        attempts.stop_ended()
