"""The minute's settlement of holds with Redis, also on SQLite: it first stores the reservations
still in the gate's stream, each batch on a connection of its own, which must not wait for the job's
own claim of its key (on SQLite the claim held the database's write lock until the job's end, and the
batch gave up after the lock's wait); then it expires the unpaid holds and gives their units back to
the gate."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import redis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.events import gate as gate_module
from neigou.events.gate import ReservationGate
from neigou.events.models import EventItem, Reservation, ReservationStatus
from neigou.kit.clock import utcnow
from neigou.kit.jobs import JobRun
from tests.busy_wait import short_busy_wait
from tests.events.builders import SKU, add_employees, create_event
from tests.factories import create_program


@pytest.fixture
def short_waits(engine: Engine) -> Iterator[None]:
    yield from short_busy_wait(engine)


@pytest.mark.usefixtures("short_waits")
def test_the_settlement_job_stores_the_stream_and_expires_holds(
    redis_app: FastAPI, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    # Without the app's lifespan its stream writer is not running: the reservations stay in the stream
    # for the job to store.
    api = TestClient(redis_app)
    program = create_program(api, operator)
    event_id = create_event(api, operator, program["id"])
    add_employees(api, operator, event_id, [{"employee_no": n, "name": "员工"} for n in ("E1", "E2")])
    for customer, number in (("c1", "E1"), ("c2", "E2")):
        made = api.post(
            f"/api/v1/events/{event_id}/reservations",
            json={"sku": SKU, "customer_ref": customer, "employee_no": number, "quantity": 2},
            headers=operator,
        )
        assert made.status_code == 201, made.text
    with factory() as session:
        assert session.scalar(select(func.count(Reservation.id))) == 0  # still in the stream
    runtime: Any = redis_app.state.events
    assert runtime.gate.client.xlen(runtime.gate.stream) == 2
    later = utcnow() + timedelta(hours=1)
    assert redis_app.state.jobs.run("events.settle_holds", key="settle-1", payload={}, at=later)
    with factory() as session:
        assert set(session.scalars(select(Reservation.status))) == {ReservationStatus.EXPIRED}
        assert session.scalar(select(func.count(Reservation.id))) == 2
        assert session.scalar(select(EventItem.reserved).where(EventItem.sku == SKU)) == 0
        assert session.get(JobRun, "settle-1") is not None
    assert runtime.gate.client.xlen(runtime.gate.stream) == 0
    # The units went back to the gate after the commit: a shopper may reserve them again.
    again = api.post(
        f"/api/v1/events/{event_id}/reservations",
        json={"sku": SKU, "customer_ref": "c1", "employee_no": "E1", "quantity": 2},
        headers=operator,
    )
    assert again.status_code == 201, again.text


@pytest.mark.usefixtures("short_waits")
def test_the_settlement_runs_when_storing_the_stream_fails(
    redis_app: FastAPI,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A refused retry's give-back that Redis fails raises out of the batch's commit (the batch comes
    back later): the job logs it and still sweeps the notes left behind and settles the holds."""
    api = TestClient(redis_app)
    program = create_program(api, operator)
    event_id = create_event(api, operator, program["id"])
    add_employees(api, operator, event_id, [{"employee_no": "E1", "name": "员工一"}])
    body = {"sku": SKU, "customer_ref": "c1", "employee_no": "E1", "request_id": "order-9"}
    url = f"/api/v1/events/{event_id}/reservations"
    assert api.post(url, json=body, headers=operator).status_code == 201
    runtime: Any = redis_app.state.events
    gate: ReservationGate = runtime.gate
    base = gate.base(event_id, runtime.book.get(event_id).created_at)
    runtime.flush()
    gate.client.delete(f"{base}:req")  # the request id's record lost: the retry is taken again
    assert api.post(url, json=body, headers=operator).status_code == 201
    left = gate.note(f"{gate.namespace}:event:0:0")  # a note an earlier write left behind

    def times_out(self: ReservationGate, *args: Any, **kwargs: Any) -> bool:
        raise redis.TimeoutError("Timeout reading from socket")

    monkeypatch.setattr(ReservationGate, "give_back_dropped", times_out)
    monkeypatch.setattr(gate_module, "STALE_NOTE_SECONDS", 0)
    later = utcnow() + timedelta(hours=1)
    assert redis_app.state.jobs.run("events.settle_holds", key="settle-1", payload={}, at=later)
    with factory() as session:
        assert set(session.scalars(select(Reservation.status))) == {ReservationStatus.EXPIRED}
        assert session.scalar(select(EventItem.reserved).where(EventItem.sku == SKU)) == 0
    assert not gate.client.hexists(gate.notes, left)
    assert gate.client.xlen(gate.stream) == 1  # the refused retry waits for the next drain
