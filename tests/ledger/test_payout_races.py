"""Payout batches racing each other or a rejection on two connections (both databases): whichever comes
second waits at its locking read for the first one's commit and then sees it, so a withdrawal lands in
one batch at most, and never in a batch once rejected. The first side holds right after its locking
read until the second waits for its lock or ran to its end (``tests.lock_waits``): without the lock
(SQLite's write lock, ``kit.db.make_engine``) these fail."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth.models import Role
from neigou.kit.errors import Conflict
from neigou.ledger import payouts, withdrawals
from neigou.ledger.models import PayoutBatch, Withdrawal, WithdrawalStatus
from tests.conftest import TEST_ACTOR, TokenMaker, bearer
from tests.lock_waits import lock_waits, paused, two_sides
from tests.orders.builders import (
    PAID_AT,
    SKU,
    World,
    assert_ledger_balanced,
    balance,
    build,
    order_body,
    post_order,
)


def _approved_withdrawal(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], make_token: TokenMaker
) -> tuple[World, dict[str, Any]]:
    """The seller's earnings settled and a withdrawal of 3000 approved."""
    w = build(client, operator, factory, max_levels=2)
    post_order(client, operator, order_body(w, "PAY-1", (SKU, 1, 100_000)))
    client.post("/api/v1/orders/PAY-1/complete", json={"at": PAID_AT.isoformat()}, headers=operator)
    as_of = (PAID_AT + timedelta(days=30)).isoformat()
    client.post(f"/api/v1/programs/{w.program_id}/settlements", json={"as_of": as_of}, headers=operator)
    member = bearer(make_token(Role.MEMBER, w.seller))
    made = client.post(
        f"/api/v1/members/{w.seller}/withdrawals",
        json={"amount_fen": 3000, "request_id": "w-1"},
        headers=member,
    )
    assert made.status_code == 201, made.text
    approved = client.post(f"/api/v1/withdrawals/{made.json()['id']}/approve", headers=operator)
    assert approved.status_code == 200, approved.text
    return w, made.json()


def test_parallel_batches_take_a_withdrawal_once(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    make_token: TokenMaker,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    w, made = _approved_withdrawal(client, operator, factory, make_token)
    waits = lock_waits(factory, 2)
    monkeypatch.setattr(
        withdrawals, "ids_approved_unbatched", paused(withdrawals.ids_approved_unbatched, waits)
    )

    def batch(session: Session) -> int:
        return payouts.create_batch(session, program_id=w.program_id, actor=TEST_ACTOR, at=PAID_AT).id

    first, second = two_sides(factory, batch, batch, waits)
    assert isinstance(first, int), first
    assert isinstance(second, Conflict), second
    assert second.code == "nothing_to_pay"
    with factory() as session:
        assert session.scalars(select(PayoutBatch.total_net_fen)).all() == [made["net_fen"]]
        assert session.scalars(select(Withdrawal.batch_id)).all() == [first]
    export = client.get(f"/api/v1/payout-batches/{first}/export", headers=operator)
    assert export.status_code == 200
    assert str(made["id"]) in export.text


@pytest.mark.parametrize("reject_first", [True, False], ids=["reject-first", "batch-first"])
def test_a_rejection_and_a_batch_at_once_never_leave_the_rejected_withdrawal_in_the_batch(
    *,
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    make_token: TokenMaker,
    monkeypatch: pytest.MonkeyPatch,
    reject_first: bool,
) -> None:
    w, made = _approved_withdrawal(client, operator, factory, make_token)
    before = balance(client, operator, w.seller)
    waits = lock_waits(factory, 2)
    # Each side holds right after its locking read: the withdrawal's (reject), the waiting ones' (batch).
    monkeypatch.setattr(withdrawals, "require", paused(withdrawals.require, waits))
    monkeypatch.setattr(
        withdrawals, "ids_approved_unbatched", paused(withdrawals.ids_approved_unbatched, waits)
    )

    def reject(session: Session) -> str:
        return withdrawals.reject(
            session, withdrawal_id=made["id"], reason="x", actor=TEST_ACTOR, at=PAID_AT
        ).status.value

    def batch(session: Session) -> int:
        return payouts.create_batch(session, program_id=w.program_id, actor=TEST_ACTOR, at=PAID_AT).id

    if reject_first:
        rejected, batched = two_sides(factory, reject, batch, waits)
        assert rejected == "rejected"
        assert isinstance(batched, Conflict), batched
        assert batched.code == "nothing_to_pay"
    else:
        batched, rejected = two_sides(factory, batch, reject, waits)
        assert isinstance(batched, int), batched
        assert isinstance(rejected, Conflict), rejected
        assert rejected.code == "invalid_state"
    with factory() as session:
        row = session.get_one(Withdrawal, made["id"])
        assert (row.status is WithdrawalStatus.REJECTED) == reject_first
        assert (row.batch_id is None) == reject_first
        in_batches = session.scalar(select(func.coalesce(func.sum(PayoutBatch.total_net_fen), 0)))
        assert in_batches == (0 if reject_first else made["net_fen"])
    after = balance(client, operator, w.seller)
    assert after["available_fen"] == before["available_fen"] + (made["amount_fen"] if reject_first else 0)
    assert_ledger_balanced(factory)
