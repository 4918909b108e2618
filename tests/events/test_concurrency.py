"""Real parallel connections on PostgreSQL: a burst of reservations never oversells the stock nor
passes the per-person limit on the database path, and retries under one request id take stock once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.events import service
from neigou.events.gate import ReservationGate
from neigou.events.models import CustomerCount, EventItem, Reservation
from neigou.events.reservations import Reserved, Shopper, load_snapshot, reserve
from neigou.kit.actor import Actor
from neigou.kit.clock import utcnow
from neigou.kit.db import transaction
from neigou.kit.errors import Conflict, ProblemError
from tests.factories import create_program
from tests.parallel import in_parallel

pytestmark = pytest.mark.postgres_only
ACTOR = Actor(kind="cli", ref="test", label="test")


def test_parallel_reservations_never_oversell(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    program = create_program(client, operator)
    now = utcnow()
    with transaction(factory) as session:
        event = service.create_event(
            session,
            program_id=program["id"],
            name="burst",
            starts_at=now - timedelta(hours=1),
            ends_at=now + timedelta(hours=1),
            guests_per_employee=0,
            items=[service.ItemIn("HOT", 100, 20, 2)],
            actor=ACTOR,
            at=now,
        )
        service.add_employees(
            session,
            event_id=event.id,
            employees=[service.EmployeeIn(f"E{i}", "e") for i in range(40)],
            actor=ACTOR,
        )
        event_id = event.id
    with factory() as session:
        snapshot = load_snapshot(session, event_id)

    def attempt(i: int) -> str:
        # 40 employees, 80 attempts of one unit: each tries twice on its own ref, once more on a shared one.
        shopper = Shopper(ref_hash=f"c{i % 40}", masked="c", employee_no=f"E{i % 40}")
        try:
            with transaction(factory) as session:
                reserve(
                    session,
                    event=snapshot,
                    event_id=event_id,
                    shopper=shopper,
                    sku="HOT",
                    quantity=1 + (i % 3 == 0),
                    at=utcnow(),
                )
            return "taken"
        except Conflict as exc:
            return exc.code

    with ThreadPoolExecutor(max_workers=12) as pool:
        outcomes = list(pool.map(attempt, range(120)))
    with factory() as session:
        reserved = session.scalar(select(EventItem.reserved))
        units = session.scalar(select(func.sum(Reservation.quantity)))
        most = session.scalar(select(func.max(CustomerCount.reserved)))
    assert reserved == units == 20
    assert most is not None
    assert most <= 2
    assert outcomes.count("taken") >= 10
    assert set(outcomes) <= {"taken", "sold_out", "limit_reached"}


def _keyed_event(client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]) -> int:
    program = create_program(client, operator)
    now = utcnow()
    with transaction(factory) as session:
        event = service.create_event(
            session,
            program_id=program["id"],
            name="retries",
            starts_at=now - timedelta(hours=1),
            ends_at=now + timedelta(hours=1),
            guests_per_employee=0,
            items=[service.ItemIn("HOT", 100, 20, 2)],
            actor=ACTOR,
            at=now,
        )
        service.add_employees(
            session, event_id=event.id, employees=[service.EmployeeIn("E1", "e")], actor=ACTOR
        )
        return event.id


def _retries(
    factory: sessionmaker[Session], event_id: int, refs: list[str], gate: ReservationGate | None = None
) -> list[object]:
    """One reservation per ref, all at once under one request id; each its answer or refusal's code."""
    with factory() as session:
        snapshot = load_snapshot(session, event_id)
    refs_left = iter(refs)

    def work(session: Session) -> object:
        shopper = Shopper(ref_hash=next(refs_left), masked="c", employee_no="E1")
        try:
            return reserve(
                session,
                event=snapshot,
                event_id=event_id,
                shopper=shopper,
                sku="HOT",
                quantity=1,
                at=utcnow(),
                gate=gate,
                request_id="retry-1",
            )
        except ProblemError as exc:
            return exc.code

    return in_parallel(factory, work, len(refs))


def test_parallel_retries_under_one_request_id_reserve_once(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    event_id = _keyed_event(client, operator, factory)
    answers = _retries(factory, event_id, ["same"] * 8)
    assert all(isinstance(a, Reserved) for a in answers), answers
    assert len(set(answers)) == 1
    with factory() as session:
        assert session.scalar(select(EventItem.reserved)) == 1
        assert session.scalar(select(func.count()).select_from(Reservation)) == 1


def test_parallel_shoppers_under_one_request_id_take_it_once_without_errors(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    event_id = _keyed_event(client, operator, factory)
    answers = _retries(factory, event_id, [f"c{i}" for i in range(8)])
    assert sum(isinstance(a, Reserved) for a in answers) == 1, answers
    assert sorted(a for a in answers if isinstance(a, str)) == ["request_id_reused"] * 7
    with factory() as session:
        assert session.scalar(select(EventItem.reserved)) == 1
        assert session.scalar(select(func.sum(CustomerCount.reserved))) == 1


def test_parallel_retries_behind_the_gate_reserve_once(
    redis_app: FastAPI, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    with TestClient(redis_app) as client:
        event_id = _keyed_event(client, operator, factory)
        runtime: Any = redis_app.state.events
        answers = _retries(factory, event_id, ["same"] * 4 + [f"c{i}" for i in range(4)], runtime.gate)
        runtime.flush()
    taken = {a for a in answers if isinstance(a, Reserved)}
    assert len(taken) == 1, answers
    refused = [a for a in answers if isinstance(a, str)]
    assert set(refused) <= {"request_id_reused"}
    with factory() as session:
        assert session.scalar(select(EventItem.reserved)) == 1
        assert session.scalar(select(func.count()).select_from(Reservation)) == 1
