"""The stream writer binds an invitation to its shopper only while no other invitation of the event is
bound to them (the unique index of migration 0047): a batch in which a gate bound a second code to one
shopper is stored whole, the second code left unbound and the skip logged, never failing the batch."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from structlog.testing import capture_logs

from neigou.events.models import CustomerCount, EventEmployee, EventItem, Invitation, Reservation
from neigou.events.models import ReservationStatus as Status
from neigou.events.writer import store
from neigou.kit.clock import utcnow
from neigou.kit.db import transaction
from neigou.privacy import repository as privacy
from tests.events.builders import SKU, invite, one_employee_event
from tests.lock_waits import lock_waits, paused, two_sides


def _row(
    event_id: int, item_id: int, n: int, customer: str, sku: str = SKU, **via: str | None
) -> dict[str, Any]:
    """A reservation of one unit as the writer reads it from the stream (``writer.rows_of``)."""
    at = utcnow() - timedelta(seconds=10 - n)
    return {
        "id": 10**15 + n,
        "event_id": event_id,
        "item_id": item_id,
        "sku": sku,
        "quantity": 1,
        "price_fen": 9900,
        "customer_ref_hash": customer,
        "customer_ref_masked": "c",
        "employee_no": via.get("employee_no"),
        "invitation_code": via.get("invitation_code"),
        "link_id": None,
        "member_id": None,
        "status": Status.HELD,
        "reserved_at": at,
        "expires_at": at + timedelta(minutes=15),
        "request_id": None,
    }


def _bindings(factory: sessionmaker[Session], event_id: int) -> dict[str, str | None]:
    with factory() as session:
        rows = session.execute(
            select(Invitation.code, Invitation.customer_ref_hash).where(Invitation.event_id == event_id)
        )
        return {code: customer for code, customer in rows}  # noqa: C416 - rows, not pairs


def test_a_batch_binding_a_second_code_to_a_shopper_stores_the_rest(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    event_id = one_employee_event(client, operator)
    first, second = invite(client, operator, event_id, "E1", 2)
    with factory() as session:
        item_id = int(session.scalar(select(EventItem.id).where(EventItem.sku == SKU)) or 0)
    batch = [
        _row(event_id, item_id, 1, "guest", invitation_code=first),
        _row(event_id, item_id, 2, "guest", invitation_code=second),  # a second code for one shopper
        _row(event_id, item_id, 3, "staff", employee_no="E1"),
    ]
    with capture_logs() as logs, transaction(factory) as session:
        assert store(session, batch) == 3
    assert _bindings(factory, event_id) == {first: "guest", second: None}
    skipped = [e for e in logs if e["event"] == "events.invitation_binding_skipped"]
    assert [(e["reservation_id"], e["unbound"]) for e in skipped] == [(10**15 + 2, True)]
    assert "guest" not in str(skipped)  # ids only, never the shopper
    with factory() as session:
        assert session.scalars(select(Reservation.id).order_by(Reservation.id)).all() == [
            10**15 + n for n in (1, 2, 3)
        ]
        assert session.scalar(select(EventItem.reserved).where(EventItem.id == item_id)) == 3
        counts = dict(session.execute(select(CustomerCount.customer_ref_hash, CustomerCount.reserved)).all())
        assert counts == {"guest": 2, "staff": 1}
        assert session.scalar(
            select(EventEmployee.customer_ref_hash).where(EventEmployee.employee_no == "E1")
        ) == ("staff")
    # A later batch: the shopper's stored binding holds, the second code stays unbound, the row is stored.
    with transaction(factory) as session:
        assert store(session, [_row(event_id, item_id, 4, "guest", invitation_code=second)]) == 1
    assert _bindings(factory, event_id) == {first: "guest", second: None}


def test_a_binding_a_concurrent_batch_committed_meanwhile_is_skipped(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two batches binding one shopper to two codes at once, of two skus (batches of many shoppers share
    the wide opt-out lock and these take no counter row in common, so nothing else orders them: the
    per-shopper lock is left out here to stand for the wide one).
    On PostgreSQL the second waits on the unique index for the first's commit and fails it: its
    bindings are tried again one by one under savepoints, the clashing one skipped, and the batch is
    stored whole."""
    event_id = one_employee_event(client, operator)
    first, second = invite(client, operator, event_id, "E1", 2)
    with factory() as session:
        item_id = int(session.scalar(select(EventItem.id).where(EventItem.sku == SKU)) or 0)
        cup = int(session.scalar(select(EventItem.id).where(EventItem.sku == "EV-CUP")) or 0)
    monkeypatch.setattr(privacy, "lock_customers", lambda _session, _customers: None)
    waits = lock_waits(factory, 2)
    one = [_row(event_id, item_id, 1, "guest", invitation_code=first)]
    two = [
        _row(event_id, cup, 2, "guest", "EV-CUP", invitation_code=second),
        _row(event_id, cup, 3, "staff", "EV-CUP", employee_no="E1"),
    ]
    done = two_sides(factory, paused(lambda s: store(s, one), waits), lambda s: store(s, two), waits)
    assert done == (1, 2)
    assert _bindings(factory, event_id) == {first: "guest", second: None}
    with factory() as session:
        reserved = dict(session.execute(select(EventItem.sku, EventItem.reserved)).all())
        assert reserved == {SKU: 1, "EV-CUP": 2}
