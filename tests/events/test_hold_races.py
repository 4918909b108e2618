"""Holds expiring while their shopper reserves again, on real parallel PostgreSQL connections: the
settling job and a reservation take the per-person counter and the item's row in one order, so they
wait for each other instead of deadlocking (one of them would fail: a 500 or a failed job run)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.events import service
from neigou.events.holds import settle_holds
from neigou.events.models import CustomerCount, EventItem, Reservation, ReservationStatus
from neigou.events.reservations import EventSnapshot, Shopper, load_snapshot, reserve
from neigou.events.writer import store
from neigou.kit.actor import Actor
from neigou.kit.clock import utcnow
from neigou.kit.db import transaction
from tests.factories import create_program
from tests.lock_waits import lock_waits, two_sides

pytestmark = pytest.mark.postgres_only
ACTOR = Actor(kind="cli", ref="test", label="test")
SHOPPER = Shopper(ref_hash="c1", masked="c", employee_no="E1")


def _locks_a_counter(statement: str) -> bool:
    """A statement that takes a per-person counter's or an item's row (an insert skipping a counter
    already there takes nothing)."""
    return statement.startswith(("UPDATE event_customer_counts", "UPDATE event_items")) or (
        statement.startswith("INSERT INTO event_customer_counts") and "DO UPDATE" in statement
    )


def _event(client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]) -> EventSnapshot:
    """A live event whose shopper ``c1`` holds one unit taken 20 minutes ago: past its 15-minute hold."""
    program = create_program(client, operator)
    now = utcnow()
    with transaction(factory) as session:
        made = service.create_event(
            session,
            program_id=program["id"],
            name="holds",
            starts_at=now - timedelta(hours=1),
            ends_at=now + timedelta(hours=1),
            guests_per_employee=0,
            items=[service.ItemIn("HOT", 100, 10, 2)],
            actor=ACTOR,
            at=now,
        )
        service.add_employees(
            session, event_id=made.id, employees=[service.EmployeeIn("E1", "e")], actor=ACTOR
        )
        event_id = made.id
    with factory() as session:
        snapshot = load_snapshot(session, event_id)
    assert snapshot is not None
    with transaction(factory) as session:
        reserve(
            session,
            event=snapshot,
            event_id=event_id,
            shopper=SHOPPER,
            sku="HOT",
            quantity=1,
            at=now - timedelta(minutes=20),
        )
    return snapshot


def _by_database(snapshot: EventSnapshot) -> Callable[[Session], object]:
    def again(session: Session) -> object:
        return reserve(
            session, event=snapshot, event_id=snapshot.id, shopper=SHOPPER, sku="HOT", quantity=1, at=utcnow()
        )

    return again


def _by_writer(snapshot: EventSnapshot) -> Callable[[Session], object]:
    """The gate's writer storing the shopper's new reservation (taken in Redis)."""
    at = utcnow()
    row = {
        "id": 10**15,
        "event_id": snapshot.id,
        "item_id": snapshot.items["HOT"].id,
        "sku": "HOT",
        "quantity": 1,
        "price_fen": 100,
        "customer_ref_hash": SHOPPER.ref_hash,
        "customer_ref_masked": "c",
        "employee_no": "E1",
        "invitation_code": None,
        "link_id": None,
        "member_id": None,
        "status": ReservationStatus.HELD,
        "reserved_at": at,
        "expires_at": at + snapshot.hold,
        "request_id": None,
    }
    return lambda session: store(session, [row])


@pytest.mark.parametrize("reserving", [_by_database, _by_writer])
def test_a_hold_expiring_while_its_shopper_reserves_again_never_deadlocks(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    reserving: Callable[[EventSnapshot], Callable[[Session], object]],
) -> None:
    snapshot = _event(client, operator, factory)
    waits = lock_waits(factory, 2)
    side = threading.local()

    def after_first_counter(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        # The reservation holds once it has locked the first of the rows it raises.
        if getattr(side, "on", False) and _locks_a_counter(statement):
            side.on = False
            waits.hold()

    work = reserving(snapshot)

    def again(session: Session) -> object:
        side.on = True
        try:
            return work(session)
        finally:
            side.on = False

    engine = factory.kw["bind"]
    event.listen(engine, "after_cursor_execute", after_first_counter)
    try:
        taken, settled = two_sides(factory, again, lambda s: settle_holds(s, at=utcnow()), waits)
    finally:
        event.remove(engine, "after_cursor_execute", after_first_counter)
    assert not isinstance(taken, Exception), taken
    assert settled == (0, 1), settled
    with factory() as session:
        assert session.scalar(select(EventItem.reserved)) == 1
        assert session.scalar(select(func.sum(CustomerCount.reserved))) == 1
        assert sorted(session.scalars(select(Reservation.status))) == sorted(
            [ReservationStatus.EXPIRED, ReservationStatus.HELD]
        )
