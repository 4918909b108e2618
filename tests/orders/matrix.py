"""What the authorization matrix needs of orders and the ledger: an attributed, completed and settled
order of the matrix's own member, withdrawals in every state, a payout batch and an integration."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.ledger.models import WithdrawalStatus
from tests.offers.factories import MATRIX_SKU
from tests.orders.builders import make_link

MATRIX_PROGRAM_ID = 1  # the matrix's own program is the first created in an empty database
MATRIX_EXTERNAL_ID = "MX-1"
MATRIX_ORDER: dict[str, Any] = {
    "external_id": "MX-2",
    "program_id": MATRIX_PROGRAM_ID,
    "customer_ref": "matrix-shopper",
    "items": [{"sku": MATRIX_SKU, "quantity": 1, "paid_fen": 990}],
    "paid_at": "2026-03-02T10:00:00+08:00",
}
MATRIX_REFUND = {"refund_id": "MX-R1", "amount_fen": 100}
MATRIX_WITHDRAWAL = {"amount_fen": 150, "request_id": "mx-w"}


def _ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def matrix_world(
    client: TestClient, headers: dict[str, str], program_id: int, member_id: int
) -> dict[str, Any]:
    """Ids for the order and ledger cases of the matrix."""
    assert program_id == MATRIX_PROGRAM_ID
    factory: sessionmaker[Session] = client.app.state.session_factory  # type: ignore[attr-defined]
    link = make_link(factory, member_id, MATRIX_SKU)
    paid = datetime(2026, 3, 1, 12, tzinfo=UTC).isoformat()
    body = {**MATRIX_ORDER, "external_id": MATRIX_EXTERNAL_ID, "link_code": link, "paid_at": paid}
    body["items"] = [{"sku": MATRIX_SKU, "quantity": 100, "paid_fen": 99_000}]
    _ok(client.post("/api/v1/orders", json=body, headers=headers), 201)  # 99000 × 20% × 20% = 3960 fen
    _ok(client.post(f"/api/v1/orders/{MATRIX_EXTERNAL_ID}/complete", json={"at": paid}, headers=headers))
    _ok(client.post(f"/api/v1/programs/{program_id}/settlements", json={}, headers=headers), 201)

    def withdraw(request_id: str, status: WithdrawalStatus) -> int:
        path = f"/api/v1/members/{member_id}/withdrawals"
        w = _ok(client.post(path, json={"amount_fen": 500, "request_id": request_id}, headers=headers), 201)
        if status is not WithdrawalStatus.REQUESTED:
            _ok(client.post(f"/api/v1/withdrawals/{w['id']}/approve", headers=headers))
        return int(w["id"])

    withdraw("batched", WithdrawalStatus.APPROVED)
    batch = _ok(client.post(f"/api/v1/programs/{program_id}/payout-batches", headers=headers), 201)
    requested = withdraw("requested", WithdrawalStatus.REQUESTED)
    withdraw("approved", WithdrawalStatus.APPROVED)
    integration = _ok(
        client.post(
            f"/api/v1/programs/{program_id}/integrations", json={"name": "矩阵商城"}, headers=headers
        ),
        201,
    )
    return {
        "external_id": MATRIX_EXTERNAL_ID,
        "sku": MATRIX_SKU,
        "withdrawal_id": requested,
        "batch_id": batch["id"],
        "integration_id": integration["id"],
    }
