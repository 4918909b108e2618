"""Worlds of the events tests: a live event with a price list, employees and invitations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.events.gate import ReservationGate
from neigou.events.models import EventItem
from neigou.kit.clock import utcnow
from tests.factories import create_program

SKU = "EV-TEA"


def event_body(program_id: int, **extra: Any) -> dict[str, Any]:
    """A live event (started an hour ago, ends in a day) of two skus."""
    now = utcnow()
    return {
        "program_id": program_id,
        "name": "内购会",
        "starts_at": (now - timedelta(hours=1)).isoformat(),
        "ends_at": (now + timedelta(days=1)).isoformat(),
        "guests_per_employee": 2,
        "items": [
            {"sku": SKU, "price_fen": 9900, "stock": 5, "per_person_limit": 2},
            {"sku": "EV-CUP", "price_fen": 2500, "stock": 100, "per_person_limit": 1},
        ],
        **extra,
    }


def create_event(client: TestClient, operator: dict[str, str], program_id: int, **extra: Any) -> int:
    response = client.post("/api/v1/events", json=event_body(program_id, **extra), headers=operator)
    assert response.status_code == 201, response.text
    event_id: int = response.json()["id"]
    return event_id


def add_employees(
    client: TestClient, operator: dict[str, str], event_id: int, rows: list[dict[str, Any]]
) -> int:
    response = client.post(f"/api/v1/events/{event_id}/employees", json=rows, headers=operator)
    assert response.status_code == 200, response.text
    added: int = response.json()["added"]
    return added


def invite(
    client: TestClient, operator: dict[str, str], event_id: int, employee_no: str, count: int
) -> list[str]:
    response = client.post(
        f"/api/v1/events/{event_id}/invitations",
        json={"employee_no": employee_no, "count": count},
        headers=operator,
    )
    assert response.status_code == 201, response.text
    codes: list[str] = response.json()["codes"]
    return codes


# An employee number is one shopper's (it binds to the first who reserves with it): E1 is the first
# shopper's (c1, o1, 13800000001), and each other shopper the tests name reserves with one of their own.
FIRST_SHOPPERS = ("c1", "o1", "13800000001")
OTHER_SHOPPERS = (*(f"c{n}" for n in range(2, 10)), "o2", "o3", *(f"1380000000{n}" for n in range(2, 10)))


def number_of(customer: str) -> str:
    """The employee number a test shopper reserves with (``E1`` for the first shopper)."""
    return "E1" if customer in FIRST_SHOPPERS else f"E1-{customer}"


def whitelist() -> list[dict[str, Any]]:
    """E1 and the numbers of the other test shoppers (``number_of``)."""
    others = [{"employee_no": number_of(c), "name": "员工"} for c in OTHER_SHOPPERS]
    return [{"employee_no": "E1", "name": "员工一"}, *others]


def one_employee_event(api: TestClient, operator: dict[str, str]) -> int:
    """A live event of a new program (``SKU``: stock 5, two a person) with one employee, E1, and the
    numbers of the other test shoppers (``whitelist``)."""
    program = create_program(api, operator)
    event_id = create_event(api, operator, program["id"])
    add_employees(api, operator, event_id, whitelist())
    return event_id


def reserve(api: TestClient, operator: dict[str, str], event_id: int, customer: str, **body: Any) -> Any:
    """A reservation of ``SKU`` by the shopper's employee number (``number_of``: E1 for the first
    shopper; ``body`` adds or overrides fields)."""
    return api.post(
        f"/api/v1/events/{event_id}/reservations",
        json={"sku": SKU, "customer_ref": customer, "employee_no": number_of(customer), **body},
        headers=operator,
    )


def gate_of(app: FastAPI, event_id: int) -> tuple[Any, ReservationGate, str]:
    """The app's events runtime, its gate and the event's key prefix in Redis."""
    runtime: Any = app.state.events
    gate: ReservationGate = runtime.gate
    return runtime, gate, gate.base(event_id, runtime.book.get(event_id).created_at)


def reserved(factory: sessionmaker[Session]) -> int | None:
    """``SKU``'s reserved units as the database holds them, in the world's first event (a test with a
    second event of the same sku reads that one by id: without an order, which row came back was the
    heap's choice)."""
    with factory() as session:
        return session.scalar(
            select(EventItem.reserved).where(EventItem.sku == SKU).order_by(EventItem.event_id).limit(1)
        )


def matrix_world(client: TestClient, operator: dict[str, str], program_id: int) -> dict[str, int]:
    """An event with one employee, for the authorization matrix."""
    event_id = create_event(client, operator, program_id)
    add_employees(client, operator, event_id, [{"employee_no": "E1", "name": "员工一"}])
    return {"event_id": event_id}


MATRIX_EVENT = {
    "program_id": "{program}",
    "name": "matrix event",
    "starts_at": datetime(2026, 1, 1, tzinfo=UTC).isoformat(),
    "ends_at": datetime(2026, 1, 2, tzinfo=UTC).isoformat(),
    "guests_per_employee": 1,
    "items": [{"sku": "MX", "price_fen": 100, "stock": 1, "per_person_limit": 1}],
}
MATRIX_RESERVATION = {"customer_ref": "matrix-employee", "employee_no": "E1", "sku": SKU}
