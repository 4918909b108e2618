"""Numbers written before the rule they are compared by: a stream entry queued before its employee's
row was renamed into the one form finds that row (the writer looks a number up as written, then in its
one form); a gate state seeded under an earlier form (numbers as typed) is seeded again, not trusted;
a row stored in a form the rule now refuses stays usable as stored."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.events import service
from neigou.events.gate_keys import employees_key
from neigou.events.gate_values import ID_EPOCH_MS
from neigou.events.models import EventEmployee, EventItem, Reservation
from neigou.events.writer import store_entries
from neigou.kit.clock import utcnow
from neigou.kit.db import transaction
from tests.conftest import TEST_ACTOR
from tests.events.builders import SKU, add_employees, create_event, gate_of, reserve
from tests.factories import create_program


def _event(api: TestClient, operator: dict[str, str], numbers: list[str]) -> int:
    event_id = create_event(api, operator, create_program(api, operator)["id"])
    add_employees(api, operator, event_id, [{"employee_no": n, "name": n} for n in numbers])
    return event_id


def _left_as_typed(factory: sessionmaker[Session], event_id: int, number: str) -> int:
    """A row migration 0036 left as it was typed (its one form was another row's)."""
    with factory.begin() as session:
        row = EventEmployee(event_id=event_id, employee_no=number, name="留存", invitations=0)
        session.add(row)
        session.flush()
        return row.id


def _entries(factory: sessionmaker[Session], event_id: int, numbers: list[str]) -> list[Any]:
    """Stream entries of one unit each, as the gate wrote them, the employee number as written."""
    with factory() as session:
        item = session.scalar(
            select(EventItem.id).where(EventItem.event_id == event_id, EventItem.sku == SKU)
        )
    at = utcnow()
    entries = []
    for n, number in enumerate(numbers):
        record = {"e": event_id, "i": item, "s": SKU, "q": 1, "p": 9900, "c": f"hash-{n}", "m": "138****0000",
                  "en": number, "ic": None, "l": None, "mb": None, "at": at.isoformat(),
                  "x": at.isoformat(), "rq": None}  # fmt: skip
        entries.append((f"{ID_EPOCH_MS + 1000 + n}-0".encode(), {b"r": json.dumps(record).encode()}))
    return entries


def _employees_of(factory: sessionmaker[Session], event_id: int) -> list[int | None]:
    with factory() as session:
        return list(
            session.scalars(
                select(Reservation.employee_id)
                .where(Reservation.event_id == event_id)
                .order_by(Reservation.id)
            )
        )


def _id_of(factory: sessionmaker[Session], event_id: int, number: str) -> int:
    with factory() as session:
        found = session.scalar(
            select(EventEmployee.id).where(
                EventEmployee.event_id == event_id, EventEmployee.employee_no == number
            )
        )
    assert found is not None
    return found


def test_an_entry_queued_before_its_row_was_renamed_finds_it(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    event_id = _event(client, operator, ["E001", "E002"])
    entries = _entries(factory, event_id, ["Ｅ００１", " e002 ", "E\u00ad001", "E001", "E003"])
    with transaction(factory) as session:
        assert store_entries(session, entries) == 5
    e001, e002 = _id_of(factory, event_id, "E001"), _id_of(factory, event_id, "E002")
    assert _employees_of(factory, event_id) == [e001, e002, e001, e001, None]


def test_a_row_stored_exactly_as_written_comes_first(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    event_id = _event(client, operator, ["E001", "E1"])
    kept = _left_as_typed(factory, event_id, "e001")
    refused = _left_as_typed(factory, event_id, "E①")  # the rule now refuses it: looked up as stored
    entries = _entries(factory, event_id, ["e001", "Ｅ００１", "E①", "E1"])
    with transaction(factory) as session:
        assert store_entries(session, entries) == 4
    e001, e1 = _id_of(factory, event_id, "E001"), _id_of(factory, event_id, "E1")
    assert _employees_of(factory, event_id) == [kept, e001, refused, e1]


def test_a_row_in_a_refused_form_stays_usable_as_stored(
    redis_client_app: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    api = redis_client_app
    event_id = _event(api, operator, ["E1"])
    refused = _left_as_typed(factory, event_id, "E①")
    with transaction(factory) as session:  # the member workspace asks by its entry's stored number
        codes = service.issue_invitations(
            session, event_id=event_id, employee_no="E①", count=1, actor=TEST_ACTOR, at=utcnow()
        )
    with factory() as session:
        assert session.get(EventEmployee, refused).invitations == 1  # type: ignore[union-attr]
    assert reserve(api, operator, event_id, "13800000001").status_code == 201  # E1: the gate seeds
    assert (
        reserve(
            api, operator, event_id, "13800000002", employee_no=None, invitation_code=codes[0]
        ).status_code
        == 201
    )
    _runtime, gate, base = gate_of(api.app, event_id)  # type: ignore[arg-type]
    members: list[bytes] = gate.client.hkeys(employees_key(base))  # type: ignore[assignment]
    assert {m.decode() for m in members} == {"E1", "E①"}  # seeded as stored, nothing refused


def test_a_state_seeded_under_an_earlier_form_is_seeded_again(
    redis_client_app: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    """A state seeded before migration 0036 holds ``ｅ００１`` as it was typed; the row is ``E001`` now."""
    api = redis_client_app
    event_id = _event(api, operator, ["E001", "E002"])
    assert reserve(api, operator, event_id, "13800000002", employee_no="E002").status_code == 201  # seeds
    runtime, gate, base = gate_of(api.app, event_id)  # type: ignore[arg-type]
    runtime.flush()
    client = gate.client
    for key in client.scan_iter(f"{base}:seeded*"):  # the state as an earlier version left it
        client.delete(key)
    client.set(f"{base}:seeded", "1")
    client.delete(employees_key(base))
    client.sadd(f"{base}:emp", "ｅ００１", "E002")  # its whitelist: a set, under the key it had
    made = reserve(api, operator, event_id, "13800000001", employee_no="E001")
    assert made.status_code == 201, made.text
    members: list[bytes] = client.hkeys(employees_key(base))  # type: ignore[assignment]
    assert {m.decode() for m in members} == {"E001", "E002"}
    runtime.flush()
    with factory() as session:
        assert (
            session.scalar(
                select(EventItem.reserved).where(EventItem.event_id == event_id, EventItem.sku == SKU)
            )
            == 2
        )
