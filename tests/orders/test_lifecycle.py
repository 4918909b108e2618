"""Completion, refunds, settlement and withdrawal: the balances DESIGN.md's formula gives, to the fen."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import row_counts
from tests.factories import create_program
from tests.orders.builders import PAID_AT, SKU, assert_ledger_balanced, balance, build, order_body, post_order


def _post(
    client: TestClient, headers: dict[str, str], path: str, body: object, status: int = 200
) -> dict[str, object]:
    response = client.post(path, json=body, headers=headers)
    assert response.status_code == status, response.text
    out: dict[str, object] = response.json()
    return out


def test_order_partial_refund_complete_settle_withdraw_refund_the_rest(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory, max_levels=2, freeze_days=7)
    paid = 9_999
    order = post_order(client, operator, order_body(w, "SEQ-1", (SKU, 3, paid)))
    # pool floor(9999 × 2000 × bp / 10^8): seller 20% → 399, owner 5% → 99
    a_seller, a_owner = 399, 99
    assert [c["amount_fen"] for c in order["commissions"]] == [a_seller, a_owner]
    assert balance(client, operator, w.seller) == {
        "pending_fen": 399,
        "frozen_fen": 0,
        "available_fen": 0,
        "withdrawn_fen": 0,
    }

    r1 = 3_333
    refund = _post(
        client,
        operator,
        "/api/v1/orders/SEQ-1/refunds",
        {"refund_id": "R1", "amount_fen": r1, "at": (PAID_AT + timedelta(days=1)).isoformat()},
        201,
    )
    worth_seller = a_seller - a_seller * r1 // paid  # 399 − 133 = 266
    worth_owner = a_owner - a_owner * r1 // paid  # 99 − 32 (floor 32.99…) = 67
    assert refund["reversed_fen"] == (a_seller - worth_seller) + (a_owner - worth_owner)
    assert balance(client, operator, w.seller)["pending_fen"] == worth_seller

    completed = PAID_AT + timedelta(days=3)
    _post(client, operator, "/api/v1/orders/SEQ-1/complete", {"at": completed.isoformat()})
    assert balance(client, operator, w.seller) == {
        "pending_fen": 0,
        "frozen_fen": worth_seller,
        "available_fen": 0,
        "withdrawn_fen": 0,
    }

    early = _post(
        client,
        operator,
        f"/api/v1/programs/{w.program_id}/settlements",
        {"as_of": (completed + timedelta(days=6)).isoformat()},
        201,
    )
    assert (early["orders"], early["released_fen"]) == (0, 0)
    settled = _post(
        client,
        operator,
        f"/api/v1/programs/{w.program_id}/settlements",
        {"as_of": (completed + timedelta(days=7)).isoformat()},
        201,
    )
    assert (settled["orders"], settled["released_fen"]) == (1, worth_seller + worth_owner)
    assert balance(client, operator, w.seller)["available_fen"] == worth_seller

    withdrawn = 200
    wd = _post(
        client,
        operator,
        f"/api/v1/members/{w.seller}/withdrawals",
        {"amount_fen": withdrawn, "request_id": "W1"},
        201,
    )
    _post(client, operator, f"/api/v1/withdrawals/{wd['id']}/approve", None)
    batch = _post(client, operator, f"/api/v1/programs/{w.program_id}/payout-batches", None, 201)
    _post(client, operator, f"/api/v1/payout-batches/{batch['id']}/paid", None)
    assert balance(client, operator, w.seller) == {
        "pending_fen": 0,
        "frozen_fen": 0,
        "available_fen": worth_seller - withdrawn,
        "withdrawn_fen": withdrawn,
    }

    _post(client, operator, "/api/v1/orders/SEQ-1/refunds", {"refund_id": "R2", "amount_fen": paid - r1}, 201)
    # fully refunded: the commission is worth A − floor(A × P / P) = 0, clawed back from available
    assert balance(client, operator, w.seller) == {
        "pending_fen": 0,
        "frozen_fen": 0,
        "available_fen": -withdrawn,
        "withdrawn_fen": withdrawn,
    }
    assert balance(client, operator, w.owner)["available_fen"] == 0
    assert_ledger_balanced(factory)

    # a later sale nets against the negative balance
    post_order(client, operator, order_body(w, "SEQ-2", (SKU, 1, 10_000)))
    _post(client, operator, "/api/v1/orders/SEQ-2/complete", {"at": completed.isoformat()})
    _post(
        client,
        operator,
        f"/api/v1/programs/{w.program_id}/settlements",
        {"as_of": (completed + timedelta(days=8)).isoformat()},
        201,
    )
    assert balance(client, operator, w.seller)["available_fen"] == 400 - withdrawn


def test_refunds_are_idempotent_and_never_exceed_the_paid_amount(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory)
    post_order(client, operator, order_body(w, "RF-1", (SKU, 1, 1_000)))
    first = _post(client, operator, "/api/v1/orders/RF-1/refunds", {"refund_id": "A", "amount_fen": 600}, 201)
    before = row_counts(factory)
    again = _post(client, operator, "/api/v1/orders/RF-1/refunds", {"refund_id": "A", "amount_fen": 600}, 200)
    assert again == first
    too_much = client.post(
        "/api/v1/orders/RF-1/refunds", json={"refund_id": "B", "amount_fen": 401}, headers=operator
    )
    assert (too_much.status_code, too_much.json()["code"]) == (409, "refund_exceeds_paid")
    reused = client.post(
        "/api/v1/orders/RF-1/refunds", json={"refund_id": "A", "amount_fen": 1}, headers=operator
    )
    assert (reused.status_code, reused.json()["code"]) == (409, "refund_id_reused")
    unknown = client.post(
        "/api/v1/orders/NOPE/refunds", json={"refund_id": "C", "amount_fen": 1}, headers=operator
    )
    assert (unknown.status_code, unknown.json()["code"]) == (404, "order_not_found")
    assert row_counts(factory) == before


def test_external_ids_are_scoped_by_program(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory)
    other = create_program(client, operator, code="other")
    post_order(client, operator, order_body(w, "SAME"))
    post_order(
        client, operator, {**order_body(w, "SAME", link=""), "program_id": other["id"], "link_code": None}
    )
    ambiguous = client.post("/api/v1/orders/SAME/complete", json={}, headers=operator)
    assert (ambiguous.status_code, ambiguous.json()["code"]) == (409, "ambiguous_external_id")
    scoped = client.post(f"/api/v1/orders/SAME/complete?program_id={w.program_id}", json={}, headers=operator)
    assert scoped.status_code == 200
    assert scoped.json()["commission_state"] == "frozen"
