"""Redis failing after the database committed (the gate's new invitations, a deferred job's queueing)
never turns the committed answer into a 500 that says nothing was saved: the write stands, the caller
gets its answer, and the failure is logged."""

from __future__ import annotations

from typing import Any

import redis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

import neigou.events
from neigou.events.gate import ReservationGate
from neigou.events.models import Invitation
from neigou.kit import jobs
from neigou.kit.db import transaction
from tests.events.test_api import _reserve, _world


class Logged:
    """A module's logger, recording what it logs at error level."""

    def __init__(self) -> None:
        self.errors: list[tuple[str, dict[str, Any]]] = []

    def error(self, event: str, **fields: Any) -> None:
        self.errors.append((event, fields))


def test_invitations_committed_while_redis_times_out_are_answered(
    redis_app: FastAPI,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    monkeypatch: Any,
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
        logged = Logged()
        monkeypatch.setattr(neigou.events, "log", logged)
        made = api.post(path, json={"employee_no": "E2", "count": 1}, headers=operator)
        assert made.status_code == 201, made.text
        (code,) = made.json()["codes"]
        assert [event for event, _ in logged.errors] == ["events.after_commit_failed"]
        assert "TimeoutError" in logged.errors[0][1]["error"]
    with factory() as session:
        assert session.scalar(select(func.count()).where(Invitation.code == code)) == 1


def test_a_job_the_queue_refuses_after_the_commit_is_logged_not_raised(
    factory: sessionmaker[Session], monkeypatch: Any
) -> None:
    class Refusing:
        def enqueue(self, name: str, key: str, payload: dict[str, Any]) -> None:
            raise redis.TimeoutError("Timeout reading from socket")

    monkeypatch.setattr(jobs, "_runner", Refusing())
    logged = Logged()
    monkeypatch.setattr(jobs, "log", logged)
    with transaction(factory) as session:
        jobs.defer(session, "kit.purge_job_runs", key="purge-after-commit")
    assert [(event, fields["job"]) for event, fields in logged.errors] == [
        ("job.enqueue_failed", "kit.purge_job_runs")
    ]
