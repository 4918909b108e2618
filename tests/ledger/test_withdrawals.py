"""Withdrawals: minimum and fee, out of available at once, back on rejection, paid in a batch and
exported for finance; never more than available, also with parallel requests on PostgreSQL."""

from __future__ import annotations

import csv
import io
import itertools
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.audit.models import AuditEntry
from neigou.auth.models import Role
from neigou.kit.clock import utcnow
from neigou.kit.db import transaction
from neigou.kit.errors import Conflict
from neigou.ledger import payouts, withdrawals
from neigou.ledger.models import Withdrawal, WithdrawalStatus
from neigou.programs.models import Member
from tests.conftest import TEST_ACTOR, TokenMaker, bearer, row_counts
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
from tests.parallel import in_parallel

RELEASED = PAID_AT + timedelta(days=30)  # when ``_earn``'s settlement makes the commission available


def _earn(client: TestClient, operator: dict[str, str], w: World, paid_fen: int = 100_000) -> None:
    """An order of the seller, completed and settled: 20% × 20% of ``paid_fen`` becomes available
    as of ``RELEASED``."""
    post_order(client, operator, order_body(w, f"E-{paid_fen}", (SKU, 1, paid_fen)))
    client.post(f"/api/v1/orders/E-{paid_fen}/complete", json={"at": PAID_AT.isoformat()}, headers=operator)
    as_of = RELEASED.isoformat()
    assert (
        client.post(
            f"/api/v1/programs/{w.program_id}/settlements", json={"as_of": as_of}, headers=operator
        ).status_code
        == 201
    )


def test_request_approve_batch_export_pay(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], make_token: TokenMaker
) -> None:
    w = build(client, operator, factory, max_levels=2)
    _earn(client, operator, w)  # 4000 available
    settings = {"min_withdrawal_fen": 1000, "fee_fixed_fen": 100, "fee_bp": 100}
    assert (
        client.put(
            f"/api/v1/programs/{w.program_id}/payout-settings", json=settings, headers=operator
        ).status_code
        == 200
    )
    member = bearer(make_token(Role.MEMBER, w.seller))
    path = f"/api/v1/members/{w.seller}/withdrawals"
    before = row_counts(factory)
    small = client.post(path, json={"amount_fen": 999, "request_id": "small"}, headers=member)
    assert (small.status_code, small.json()["code"]) == (422, "below_minimum")
    big = client.post(path, json={"amount_fen": 4001, "request_id": "big"}, headers=member)
    assert (big.status_code, big.json()["code"]) == (409, "insufficient_balance")
    assert row_counts(factory) == before
    created = client.post(path, json={"amount_fen": 3000, "request_id": "w-1"}, headers=member)
    assert created.status_code == 201, created.text
    w1 = created.json()
    assert (w1["fee_fen"], w1["net_fen"], w1["status"]) == (130, 2870, "requested")
    repeat = client.post(path, json={"amount_fen": 3000, "request_id": "w-1"}, headers=member)
    assert (repeat.status_code, repeat.json()["id"]) == (200, w1["id"])
    b = client.get(f"/api/v1/members/{w.seller}/balance", headers=member).json()
    assert (b["available_fen"], b["withdrawing_fen"], b["withdrawn_fen"]) == (1000, 3000, 0)

    second = client.post(path, json={"amount_fen": 1000, "request_id": "w-2"}, headers=member).json()
    rejected = client.post(
        f"/api/v1/withdrawals/{second['id']}/reject", json={"reason": "银行卡信息不全"}, headers=operator
    )
    assert rejected.json()["status"] == "rejected"
    assert balance(client, operator, w.seller)["available_fen"] == 1000

    assert (
        client.post(f"/api/v1/withdrawals/{w1['id']}/approve", headers=operator).json()["status"]
        == "approved"
    )
    batch = client.post(f"/api/v1/programs/{w.program_id}/payout-batches", headers=operator).json()
    assert (batch["count"], batch["total_net_fen"]) == (1, 2870)
    empty = client.post(f"/api/v1/programs/{w.program_id}/payout-batches", headers=operator)
    assert (empty.status_code, empty.json()["code"]) == (409, "nothing_to_pay")
    exported = client.get(f"/api/v1/payout-batches/{batch['id']}/export?format=csv", headers=operator)
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows[1][:7] == [str(w1["id"]), str(w.seller), "seller", "3000", "130", "2870", "28.70"]
    excel = client.get(f"/api/v1/payout-batches/{batch['id']}/export?format=xlsx", headers=operator)
    sheet = load_workbook(io.BytesIO(excel.content)).worksheets[0]
    assert [c.value for c in sheet[2]][:6] == [w1["id"], w.seller, "seller", 3000, 130, 2870]
    paid = client.post(f"/api/v1/payout-batches/{batch['id']}/paid", json={}, headers=operator)
    assert paid.json()["paid_at"] is not None
    assert balance(client, operator, w.seller) == {
        "pending_fen": 0,
        "frozen_fen": 0,
        "available_fen": 1000,
        "withdrawn_fen": 2870,
    }
    assert client.get(f"/api/v1/members/{w.seller}/withdrawals", headers=member).json()[1]["status"] == "paid"
    assert_ledger_balanced(factory)


def test_member_cannot_withdraw_for_another(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], make_token: TokenMaker
) -> None:
    w = build(client, operator, factory)
    _earn(client, operator, w)
    other = bearer(make_token(Role.MEMBER, w.owner))
    before = row_counts(factory)
    denied = client.post(
        f"/api/v1/members/{w.seller}/withdrawals", json={"amount_fen": 500, "request_id": "x"}, headers=other
    )
    assert (denied.status_code, denied.json()["code"]) == (403, "other_member")
    assert row_counts(factory) == before


@pytest.mark.postgres_only
def test_parallel_withdrawals_never_exceed_available(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory, max_levels=2)
    _earn(client, operator, w)  # 4000 available: at most four of ten parallel 1000s may pass
    numbers = itertools.count()

    def attempt(session: Session) -> str:
        member = session.get(Member, w.seller)
        assert member is not None
        request_id = f"p-{next(numbers)}"
        withdrawals.request(
            session, member=member, amount_fen=1000, request_id=request_id, actor=TEST_ACTOR, at=RELEASED
        )
        return "ok"

    results = in_parallel(factory, attempt, 10)
    outcomes = [r.code if isinstance(r, Conflict) else r for r in results]
    assert sorted(outcomes, key=str) == ["insufficient_balance"] * 6 + ["ok"] * 4, results
    assert balance(client, operator, w.seller)["available_fen"] == 0
    with transaction(factory) as session:
        assert session.query(Withdrawal).count() == 4
    assert_ledger_balanced(factory)


@pytest.mark.postgres_only
def test_parallel_retries_of_one_withdrawal_take_it_once(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    """The same request_id sent ten times at once: one withdrawal, the others answer it (never a
    duplicate key, which the API would answer 500)."""
    w = build(client, operator, factory, max_levels=2)
    _earn(client, operator, w)

    def attempt(session: Session) -> tuple[int, bool]:
        member = session.get(Member, w.seller)
        assert member is not None
        row, created = withdrawals.request(
            session, member=member, amount_fen=1000, request_id="retry-1", actor=TEST_ACTOR, at=RELEASED
        )
        return row.id, created

    results = in_parallel(factory, attempt, 10)
    assert all(isinstance(r, tuple) for r in results), results
    assert len({r[0] for r in results}) == 1  # type: ignore[index]
    assert sorted(r[1] for r in results) == [False] * 9 + [True]  # type: ignore[index]
    assert balance(client, operator, w.seller)["available_fen"] == 3000
    with transaction(factory) as session:
        assert session.query(Withdrawal).count() == 1
    assert_ledger_balanced(factory)


@pytest.mark.postgres_only
def test_parallel_batches_and_payments_take_each_withdrawal_once(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], make_token: TokenMaker
) -> None:
    """Operators pressing "create batch" and then "paid" several times at once: one batch holds the
    approved withdrawals, the others answer nothing_to_pay; the batch is paid once, its net withdrawn once."""
    w = build(client, operator, factory, max_levels=2)
    _earn(client, operator, w)  # 4000 available
    member = bearer(make_token(Role.MEMBER, w.seller))
    for n in range(3):
        made = client.post(
            f"/api/v1/members/{w.seller}/withdrawals",
            json={"amount_fen": 1000, "request_id": f"b-{n}"},
            headers=member,
        )
        assert made.status_code == 201, made.text
        approved = client.post(f"/api/v1/withdrawals/{made.json()['id']}/approve", headers=operator)
        assert approved.status_code == 200, approved.text

    now = utcnow()  # after the withdrawals were requested: a batch is never paid before them

    def batch(session: Session) -> int:
        return payouts.create_batch(session, program_id=w.program_id, actor=TEST_ACTOR, at=now).id

    made_batches = in_parallel(factory, batch, 6)
    ids = [r for r in made_batches if isinstance(r, int)]
    assert len(ids) == 1, made_batches
    assert all(isinstance(r, Conflict) and r.code == "nothing_to_pay" for r in made_batches if r not in ids)

    def pay(session: Session) -> int:
        return payouts.pay_batch(session, batch_id=ids[0], actor=TEST_ACTOR, at=now).batch.id

    assert in_parallel(factory, pay, 6) == [ids[0]] * 6
    with transaction(factory) as session:
        rows = session.query(Withdrawal).all()
        assert {(r.batch_id, r.status) for r in rows} == {(ids[0], WithdrawalStatus.PAID)}
    assert balance(client, operator, w.seller)["withdrawn_fen"] == 3000
    assert_ledger_balanced(factory)


REASON = {"reason": "账户信息不全"}


def _one_rejected_one_approved(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], make_token: TokenMaker
) -> tuple[World, dict[str, Any], dict[str, Any]]:
    """Two requests of 1000 by the seller: the first rejected (``REASON``), the second approved."""
    w = build(client, operator, factory, max_levels=2)
    _earn(client, operator, w)
    member = bearer(make_token(Role.MEMBER, w.seller))
    path = f"/api/v1/members/{w.seller}/withdrawals"
    first = client.post(path, json={"amount_fen": 1000, "request_id": "r-1"}, headers=member).json()
    second = client.post(path, json={"amount_fen": 1000, "request_id": "r-2"}, headers=member).json()
    assert client.post(f"/api/v1/withdrawals/{first['id']}/reject", json=REASON, headers=operator).is_success
    assert client.post(f"/api/v1/withdrawals/{second['id']}/approve", headers=operator).is_success
    return w, first, second


def test_actions_in_the_wrong_state_answer_409_invalid_state(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], make_token: TokenMaker
) -> None:
    w, first, second = _one_rejected_one_approved(client, operator, factory, make_token)
    before = row_counts(factory)
    for withdrawal_id, action, body in (
        (first["id"], "approve", None),
        (second["id"], "reject", REASON),
    ):
        if action == "reject":
            batch = client.post(f"/api/v1/programs/{w.program_id}/payout-batches", headers=operator)
            assert batch.status_code == 201
            before = row_counts(factory)
        answer = client.post(f"/api/v1/withdrawals/{withdrawal_id}/{action}", json=body, headers=operator)
        assert (answer.status_code, answer.json()["code"]) == (409, "invalid_state"), answer.text
        assert answer.json()["current_status"] in {"rejected", "approved"}
        assert row_counts(factory) == before
    assert balance(client, operator, w.seller)["available_fen"] == 3000
    assert_ledger_balanced(factory)


def test_payout_exports_write_formula_like_names_as_text(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], make_token: TokenMaker
) -> None:
    w = build(client, operator, factory, max_levels=2)
    _earn(client, operator, w)
    evil = '=HYPERLINK("http://evil.example","领取")'
    with transaction(factory) as session:
        member = session.get(Member, w.seller)
        assert member is not None
        member.name = evil
    member_headers = bearer(make_token(Role.MEMBER, w.seller))
    body = {"amount_fen": 1000, "request_id": "=cmd|' /C calc'!A0"}
    created = client.post(f"/api/v1/members/{w.seller}/withdrawals", json=body, headers=member_headers)
    assert created.status_code == 201, created.text
    client.post(f"/api/v1/withdrawals/{created.json()['id']}/approve", headers=operator)
    batch = client.post(f"/api/v1/programs/{w.program_id}/payout-batches", headers=operator).json()
    exported = client.get(f"/api/v1/payout-batches/{batch['id']}/export?format=csv", headers=operator)
    row = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))[1]
    assert (row[2], row[8]) == ("'" + evil, "'=cmd|' /C calc'!A0")
    excel = client.get(f"/api/v1/payout-batches/{batch['id']}/export?format=xlsx", headers=operator)
    cells = load_workbook(io.BytesIO(excel.content)).worksheets[0][2]
    assert (cells[2].value, cells[2].data_type) == (evil, "s")
    assert (cells[8].value, cells[8].data_type) == ("=cmd|' /C calc'!A0", "s")


def test_decisions_are_audited_with_the_state_before_and_after(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], make_token: TokenMaker
) -> None:
    _, first, second = _one_rejected_one_approved(client, operator, factory, make_token)
    with factory() as session:
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.entity == "withdrawal").order_by(AuditEntry.id)
        ).all()
        seen = [(e.action, e.entity_id, e.before, e.after) for e in entries]
    requested = {"status": "requested", "amount_fen": 1000, "fee_fen": 0, "reason": None}
    assert seen == [
        ("withdrawal.reject", str(first["id"]), requested, {**requested, "status": "rejected", **REASON}),
        ("withdrawal.approve", str(second["id"]), requested, {**requested, "status": "approved"}),
    ]
