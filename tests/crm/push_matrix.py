"""What the authorization matrix (tests/authz) needs of pushes: a consenting customer in
the own member's book and a push to them of the matrix sku."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.offers import factories as offers


def matrix_push(ids: dict[str, Any]) -> dict[str, Any]:
    """A push of the matrix sku to the own member's customer."""
    return {"customer_ids": [ids["push_customer_id"]], "skus": [offers.MATRIX_SKU]}


MATRIX_SETTINGS = {
    "channel": "task",
    "cap_pushes": 3,
    "cap_days": 7,
    "quiet_start": "22:00",
    "quiet_end": "08:00",
}


def matrix_world(client: TestClient, operator: dict[str, str], ids: dict[str, Any]) -> dict[str, Any]:
    """The customer, and a push whose first message the matrix marks sent."""
    customer = client.post(
        f"/api/v1/members/{ids['member']}/customers",
        json={"customer_ref": "13900000009", "name": "矩阵客户", "consent": {"marketing": True}},
        headers=operator,
    )
    assert customer.status_code == 201, customer.text
    found = {"push_customer_id": customer.json()["id"]}
    push = client.post(f"/api/v1/members/{ids['member']}/pushes", json=matrix_push(found), headers=operator)
    assert push.status_code == 201, push.text
    return {**found, "push_id": push.json()["id"], "message_id": push.json()["messages"][0]["id"]}
