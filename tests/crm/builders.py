"""A salesperson program for customer-book tests: two members, the API helpers that add customers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth.models import Role
from neigou.crm.models import Customer
from tests.conftest import TokenMaker, bearer
from tests.factories import create_member, create_program

# The matrix's customer (added to the world's member) and the body that adds another one.
MATRIX_CUSTOMER = {"customer_ref": "13900001111", "name": "王女士", "tags": ["通勤"]}
MATRIX_SEGMENT = {"name": "通勤客户", "tags": ["通勤"]}
MATRIX_IMPORT = {"file": ("vip.csv", "手机号,姓名\n13900003333,张女士\n".encode())}


@dataclass
class Book:
    """A program with a salesperson (``member``) and a colleague (``other``), and their tokens."""

    program_id: int
    member: int
    other: int
    member_headers: dict[str, str]
    other_headers: dict[str, str]


def build(client: TestClient, operator: dict[str, str], make_token: TokenMaker, code: str = "store") -> Book:
    """The program, its two salespeople and their member tokens."""
    program = create_program(client, operator, code=code)
    member = create_member(client, operator, program["id"], "导购甲")
    other = create_member(client, operator, program["id"], "导购乙")
    return Book(
        program["id"],
        member["id"],
        other["id"],
        bearer(make_token(Role.MEMBER, member["id"])),
        bearer(make_token(Role.MEMBER, other["id"])),
    )


def add_customer(
    client: TestClient, headers: dict[str, str], member_id: int, ref: str, status: int = 201, **fields: Any
) -> dict[str, Any]:
    """POST /members/{id}/customers and insist on ``status``."""
    response = client.post(
        f"/api/v1/members/{member_id}/customers", json={"customer_ref": ref, **fields}, headers=headers
    )
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def listed(client: TestClient, headers: dict[str, str], member_id: int, query: str = "") -> list[str]:
    """The names of the member's customers a list query answers, in order."""
    response = client.get(f"/api/v1/members/{member_id}/customers?{query}", headers=headers)
    assert response.status_code == 200, response.text
    return [c["name"] for c in response.json()]


def matrix_world(client: TestClient, operator: dict[str, str], member_id: int) -> dict[str, int]:
    """A customer and a segment of the matrix's member, and a segment the matrix deletes."""
    customer = add_customer(
        client, operator, member_id, "13900002222", name="李先生", tags=["通勤"], consent={"marketing": True}
    )
    segment = client.post(f"/api/v1/members/{member_id}/segments", json=MATRIX_SEGMENT, headers=operator)
    assert segment.status_code == 201, segment.text
    doomed = client.post(f"/api/v1/members/{member_id}/segments", json=MATRIX_SEGMENT, headers=operator)
    assert doomed.status_code == 201, doomed.text
    return {
        "customer_id": customer["id"],
        "segment_id": segment.json()["id"],
        "doomed_segment": doomed.json()["id"],
    }


def add_order(
    client: TestClient, operator: dict[str, str], program_id: int, ref: str, *, paid_at: datetime, sku: str
) -> None:
    """An order of the customer ``ref`` in the program, paid at ``paid_at`` (``sku`` a product)."""
    body = {
        "external_id": f"{ref}-{paid_at:%Y%m%d%H%M%S}",
        "program_id": program_id,
        "customer_ref": ref,
        "items": [{"sku": sku, "quantity": 1, "paid_fen": 1000}],
        "paid_at": paid_at.isoformat(),
    }
    response = client.post("/api/v1/orders", json=body, headers=operator)
    assert response.status_code == 201, response.text


def set_times(factory: sessionmaker[Session], customer_id: int, **values: Any) -> None:
    """Move a customer's stored times (created_at, last_purchase_at …) for dormancy tests."""
    with factory() as session, session.begin():
        customer = session.get(Customer, customer_id)
        assert customer is not None
        for name, value in values.items():
            setattr(customer, name, value)
