"""The minute's settlement of holds during a burst of reservations (a flash sale): the job stores the
reservations the gate's stream held when it started, not those arriving meanwhile, and then settles.
Each read of the stream is non-blocking, so a drain that went on until a read came back empty ran as
long as the burst: unpaid holds never expired (their stock never came back) during exactly the event
where it matters, and every minute another run joined, filling the job threads."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.events import writer as writer_module
from neigou.events.gate import ReservationGate
from neigou.events.models import EventItem, Reservation, ReservationStatus
from neigou.kit import streams
from neigou.kit.clock import utcnow
from neigou.kit.streams import Entry
from tests.busy_wait import short_busy_wait
from tests.events.builders import SKU, add_employees, create_event
from tests.factories import create_program
from tests.local_redis import local_redis
from tests.stream_bursts import overtaken

FINISH_WITHIN_S = 10.0
BURST_ROUND = 10  # reservations the burst adds at a time


@pytest.fixture
def short_waits(engine: Engine) -> Iterator[None]:
    yield from short_busy_wait(engine)


@pytest.mark.usefixtures("short_waits")
def test_the_settlement_expires_holds_while_reservations_keep_arriving(
    redis_app: FastAPI,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    api = TestClient(redis_app)
    program = create_program(api, operator)
    event_id = create_event(api, operator, program["id"])
    add_employees(api, operator, event_id, [{"employee_no": "E1", "name": "员工"}])
    made = api.post(
        f"/api/v1/events/{event_id}/reservations",
        json={"sku": SKU, "customer_ref": "c1", "employee_no": "E1", "quantity": 2},
        headers=operator,
    )
    assert made.status_code == 201, made.text
    gate: ReservationGate = redis_app.state.events.gate
    # The burst's entries stand for other shoppers' reservations: stored as nothing, but read as any,
    # and a batch of them takes the database a moment.
    real_store = writer_module.store_entries

    def store(session: Session, entries: list[Entry], found: ReservationGate | None = None) -> int:
        if any(b"burst" in fields for _, fields in entries):
            time.sleep(0.005)
        return real_store(session, [e for e in entries if b"burst" not in e[1]], found)

    monkeypatch.setattr(writer_module, "store_entries", store)
    # Once it noted where it starts, the job's drain waits for the burst to add more than a batch: a
    # loaded machine may not run the burst's thread at all while the drain runs.
    monkeypatch.setattr(streams, "Backlog", overtaken(writer_module.BATCH + 1))
    stop = threading.Event()

    def produce() -> None:
        client = local_redis()
        try:
            while not stop.is_set():
                pipe = client.pipeline(transaction=False)
                for _ in range(BURST_ROUND):
                    pipe.xadd(gate.stream, {"burst": "1"})
                pipe.execute()
                stop.wait(0.001)
        finally:
            client.close()

    producer = threading.Thread(target=produce, daemon=True)
    producer.start()
    ran: list[bool] = []
    later = utcnow() + timedelta(hours=1)

    def settle() -> None:
        ran.append(redis_app.state.jobs.run("events.settle_holds", key="settle-1", payload={}, at=later))

    job = threading.Thread(target=settle, daemon=True)
    try:
        while gate.client.xlen(gate.stream) < 20:  # the burst is under way before the job starts
            stop.wait(0.01)
        job.start()
        job.join(FINISH_WITHIN_S)
        finished = not job.is_alive()
    finally:
        stop.set()
        producer.join(10)
        job.join(60)
    assert finished, "the settlement waited for the burst to end"
    assert ran == [True]
    with factory() as session:
        assert list(session.scalars(select(Reservation.status))) == [ReservationStatus.EXPIRED]
        assert session.scalar(select(EventItem.reserved).where(EventItem.sku == SKU)) == 0
    assert gate.client.xlen(gate.stream) > 0  # the burst's later entries wait for the next drain
