"""Redis failing after the database committed (the gate's new invitations, a deferred job's queueing)
never turns the committed answer into a 500 that says nothing was saved: the write stands, the caller
gets its answer, and the failure is logged."""

from __future__ import annotations

import json
from typing import Any

import pytest
import redis
import structlog
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

import neigou.events
from neigou.events.gate import ReservationGate
from neigou.events.models import Invitation
from neigou.kit import jobs
from neigou.kit.db import transaction
from neigou.kit.logging import configure_logging
from tests.events.test_api import _reserve, _world


def _fresh_logging(monkeypatch: Any, module: Any) -> None:
    """JSON logs, and the module's logger made anew: loggers keep the configuration of their first use,
    which an earlier test may have made before this one configured JSON."""
    configure_logging(json=True)
    monkeypatch.setattr(module, "log", structlog.get_logger(module.__name__))


def test_invitations_committed_while_redis_times_out_are_answered(
    redis_app: FastAPI,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    monkeypatch: Any,
    capfd: pytest.CaptureFixture[str],
) -> None:
    with TestClient(redis_app, raise_server_exceptions=False) as api:
        world = _world(api, operator)
        event = world["event"]
        seeded = _reserve(api, operator, event, customer_ref="13800000001", employee_no="E1")
        assert seeded.status_code == 201, seeded.text

        def silent(self: ReservationGate, base: str, codes: Any) -> None:
            raise redis.TimeoutError("Timeout reading from socket")

        monkeypatch.setattr(ReservationGate, "add_invitations", silent)
        path = f"/api/v1/events/{event}/invitations"
        _fresh_logging(monkeypatch, neigou.events)
        capfd.readouterr()
        made = api.post(path, json={"employee_no": "E2", "count": 1}, headers=operator)
        assert made.status_code == 201, made.text
        (code,) = made.json()["codes"]
        lines = [json.loads(line) for line in capfd.readouterr().err.splitlines() if line.startswith("{")]
        assert [e["event"] for e in lines if e["level"] == "error"] == ["events.after_commit_failed"]
    with factory() as session:
        assert session.scalar(select(func.count()).where(Invitation.code == code)) == 1


def test_a_job_the_queue_refuses_after_the_commit_is_logged_not_raised(
    factory: sessionmaker[Session], monkeypatch: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    class Refusing:
        def enqueue(self, name: str, key: str, payload: dict[str, Any]) -> None:
            raise redis.TimeoutError("Timeout reading from socket")

    monkeypatch.setattr(jobs, "_runner", Refusing())
    _fresh_logging(monkeypatch, jobs)
    capfd.readouterr()
    with transaction(factory) as session:
        jobs.defer(session, "kit.purge_job_runs", key="purge-after-commit")
    lines = [json.loads(line) for line in capfd.readouterr().err.splitlines() if line.startswith("{")]
    assert [(e["event"], e["job"]) for e in lines if e["level"] == "error"] == [
        ("job.enqueue_failed", "kit.purge_job_runs")
    ]
