"""A number stored with an invisible mark migration 0036 kept (``HR\\u00ad007``, a soft hyphen) was no
number a reservation could name once the rule dropped that mark: typed as stored or plain it is
``HR007``, the gate seeded from the stored rows answered ``not_invited``, and adding ``HR007`` again
made a second employee. Migration 0038 rewrites the row, and the gate state seeded before it (under the
earlier ``FORM``) is seeded again: both forms reserve as that employee, and adding it again adds none."""

from __future__ import annotations

import importlib

from alembic.migration import MigrationContext
from alembic.operations import Operations
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.events.gate_keys import employees_key
from neigou.events.models import EventEmployee, Reservation
from tests.events.builders import SKU, add_employees, create_event, gate_of, reserve
from tests.factories import create_program

STORED = "HR\u00ad007"
MIGRATION = "neigou.migrations.versions.0038_employee_numbers_invisible_marks"


def _migrate(factory: sessionmaker[Session]) -> None:
    """Migration 0038's upgrade, run on the test database."""
    upgrade = importlib.import_module(MIGRATION).upgrade
    with factory() as session, session.connection() as conn:
        with Operations.context(MigrationContext.configure(conn)):
            upgrade()
        session.commit()


def test_a_number_stored_with_a_mark_0036_kept_reserves_after_0038(
    redis_client_app: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    api = redis_client_app
    event_id = create_event(api, operator, create_program(api, operator)["id"])
    add_employees(api, operator, event_id, [{"employee_no": "E002", "name": "员工二"}])
    with factory.begin() as session:  # as migration 0036 left it
        row = EventEmployee(event_id=event_id, employee_no=STORED, name="员工七", invitations=0)
        session.add(row)
        session.flush()
        kept = row.id
    assert reserve(api, operator, event_id, "13800000002", employee_no="E002").status_code == 201  # seeds
    refused = reserve(api, operator, event_id, "13800000001", employee_no=STORED)
    assert (refused.status_code, refused.json()["code"]) == (409, "not_invited")
    runtime, gate, base = gate_of(api.app, event_id)  # type: ignore[arg-type]
    runtime.flush()
    client = gate.client
    for key in client.scan_iter(f"{base}:seeded*"):  # the state as the code before 0038 seeded it
        client.delete(key)
    client.set(f"{base}:seeded:2", "1")

    _migrate(factory)

    for typed, sku in ((STORED, SKU), ("HR007", SKU), ("hr007", "EV-CUP")):  # one entry, one shopper's
        made = reserve(api, operator, event_id, "13800000003", employee_no=typed, sku=sku)
        assert made.status_code == 201, made.text
    members: list[bytes] = client.hkeys(employees_key(base))  # type: ignore[assignment]
    assert {m.decode() for m in members} == {"E002", "HR007"}
    assert add_employees(api, operator, event_id, [{"employee_no": "HR007", "name": "again"}]) == 0
    runtime.flush()
    with factory() as session:
        numbers = session.scalars(
            select(EventEmployee.employee_no)
            .where(EventEmployee.event_id == event_id)
            .order_by(EventEmployee.id)
        ).all()
        booked = session.scalars(
            select(Reservation.employee_id).where(Reservation.event_id == event_id).order_by(Reservation.id)
        ).all()
    assert numbers == ["E002", "HR007"]
    assert booked[1:] == [kept, kept, kept]
