"""Real parallel connections on PostgreSQL: a burst of reservations never oversells the stock nor
passes the per-person limit on the database path."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.events import service
from neigou.events.models import CustomerCount, EventItem, Reservation
from neigou.events.reservations import Shopper, load_snapshot, reserve
from neigou.kit.actor import Actor
from neigou.kit.clock import utcnow
from neigou.kit.db import transaction
from neigou.kit.errors import Conflict
from tests.factories import create_program

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
