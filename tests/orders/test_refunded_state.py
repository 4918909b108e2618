"""A fully refunded order shows its commission as reversed, not as released, in the API and console."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.orders.builders import PAID_AT, SKU, build, order_body, post_order
from tests.sign_in import console_sign_in


def test_a_fully_refunded_order_reads_reversed(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory, max_levels=2)
    post_order(client, operator, order_body(w, "R-1", (SKU, 1, 10_000)))
    post_order(client, operator, order_body(w, "R-2", (SKU, 1, 10_000)))
    for external_id in ("R-1", "R-2"):
        done = client.post(
            f"/api/v1/orders/{external_id}/complete", json={"at": PAID_AT.isoformat()}, headers=operator
        )
        assert done.status_code == 200, done.text
    as_of = (PAID_AT + timedelta(days=30)).isoformat()
    assert client.post(
        f"/api/v1/programs/{w.program_id}/settlements", json={"as_of": as_of}, headers=operator
    ).is_success
    at = (PAID_AT + timedelta(days=31)).isoformat()
    full = {"refund_id": "all", "amount_fen": 10_000, "at": at}
    part = {"refund_id": "half", "amount_fen": 5_000, "at": at}
    assert client.post("/api/v1/orders/R-1/refunds", json=full, headers=operator).status_code == 201
    assert client.post("/api/v1/orders/R-2/refunds", json=part, headers=operator).status_code == 201
    states = {
        e: client.get(f"/api/v1/orders/{e}", headers=operator).json()["commission_state"]
        for e in ("R-1", "R-2")
    }
    assert states == {"R-1": "reversed", "R-2": "available"}
    console_sign_in(client, factory)
    page = client.get(f"/console/orders?program_id={w.program_id}").text
    assert page.count("已冲回（全额退款）") == 1
    assert "已冲回" not in client.get(f"/console/orders?program_id={w.program_id}&lang=en").text
