"""Random sequences of orders, refunds, completions, settlements and withdrawals against the real
database: the ledger always balances, no fen is created or lost, every state holds exactly what the
orders in it are worth, and a full refund leaves nothing."""

from __future__ import annotations

import itertools
from datetime import timedelta

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.errors import ProblemError
from neigou.ledger import payouts, withdrawals
from neigou.ledger import repository as ledger
from neigou.ledger.models import Account, Withdrawal, WithdrawalStatus
from neigou.orders import commission, service, settlement
from neigou.orders.inputs import ItemIn, OrderIn
from neigou.orders.models import Commission, CommissionState, Order, OrderSource
from neigou.programs.models import Member, Program
from tests.conftest import SECRET, TEST_ACTOR
from tests.orders.builders import PAID_AT, SKU, build, make_link

SERIAL = itertools.count()
ops = st.lists(
    st.one_of(
        st.tuples(st.just("order"), st.integers(0, 2), st.lists(st.integers(0, 50_000), min_size=1, max_size=3)),
        st.tuples(st.just("refund"), st.integers(0, 20), st.integers(1, 10_000)),
        st.tuples(st.just("refund_all"), st.integers(0, 20), st.just(0)),
        st.tuples(st.just("complete"), st.integers(0, 20), st.just(0)),
        st.tuples(st.just("settle"), st.integers(0, 20), st.just(0)),
        st.tuples(st.just("withdraw"), st.integers(0, 2), st.integers(1, 3000)),
        st.tuples(st.just("reject"), st.integers(0, 20), st.just(0)),
        st.tuples(st.just("pay"), st.just(0), st.just(0)),
    ),
    min_size=1,
    max_size=25,
)


def _apply(session: Session, op: tuple[str, int, object], ctx: dict[str, object], step: int) -> None:
    kind, n, arg = op
    at = PAID_AT + timedelta(hours=step)
    members: list[int] = ctx["members"]  # type: ignore[assignment]
    orders: list[int] = ctx["orders"]  # type: ignore[assignment]
    program = session.get(Program, ctx["program_id"])
    assert program is not None
    if kind == "order":
        data = OrderIn(
            external_id=f"P-{next(SERIAL)}", program_id=program.id, customer_ref="c", link_code=ctx["links"][n],  # type: ignore[index]
            items=tuple(ItemIn(SKU, 1, fen) for fen in arg),  # type: ignore[attr-defined]
            paid_at=at,
        )
        order, _ = service.take_order(session, data=data, secret_key=SECRET, source=OrderSource.API, actor=TEST_ACTOR, now=at)
        orders.append(order.id)
    elif kind in ("refund", "refund_all", "complete") and orders:
        order = session.get(Order, orders[n % len(orders)])
        assert order is not None
        if kind == "complete":
            service.complete(session, order=order, at=max(at, order.paid_at), actor=TEST_ACTOR)
            return
        left = order.paid_fen - order.refunded_fen
        amount = left if kind == "refund_all" else min(left, max(1, left * int(arg) // 10_000))  # type: ignore[call-overload]
        if amount > 0:
            service.refund(session, order=order, refund_id=f"R-{next(SERIAL)}", amount_fen=amount, at=at, actor=TEST_ACTOR)
    elif kind == "settle":
        settlement.settle(session, program=program, as_of=at + timedelta(days=n), actor=TEST_ACTOR, now=at)
    elif kind == "withdraw":
        member = session.get(Member, members[n])
        assert member is not None
        available = ledger.account_total(session, member.id, Account.AVAILABLE)
        try:
            with session.begin_nested():
                withdrawals.request(session, member=member, amount_fen=int(arg), request_id=f"W-{next(SERIAL)}",  # type: ignore[call-overload]
                                    actor=TEST_ACTOR, at=at)
            assert int(arg) <= available  # type: ignore[call-overload]
        except ProblemError as exc:
            assert exc.code in {"insufficient_balance", "below_minimum"}
    elif kind == "reject":
        open_ = ledger.list_withdrawals(session, program_id=program.id, status=WithdrawalStatus.REQUESTED)
        if open_:
            withdrawals.reject(session, withdrawal_id=open_[n % len(open_)].id, reason="r", actor=TEST_ACTOR, at=at)
    elif kind == "pay":
        for w in ledger.list_withdrawals(session, program_id=program.id, status=WithdrawalStatus.REQUESTED):
            withdrawals.approve(session, withdrawal_id=w.id, actor=TEST_ACTOR, at=at)
        if withdrawals.ids_approved_unbatched(session, program.id):
            batch = payouts.create_batch(session, program_id=program.id, actor=TEST_ACTOR, at=at)
            payouts.pay_batch(session, batch_id=batch.id, actor=TEST_ACTOR, at=at)


def _check(session: Session, members: list[int]) -> None:
    assert ledger.unbalanced_postings(session) == []
    sums = ledger.ledger_sums(session)
    assert sum(sums.values()) == 0
    kept = session.scalar(select(func.sum(Commission.amount_fen - Commission.reversed_fen))) or 0
    assert sums.get("commission_expense", 0) == -kept
    fees = session.scalar(select(func.sum(Withdrawal.fee_fen)).where(Withdrawal.status == WithdrawalStatus.PAID)) or 0
    assert sums.get("payout_fees", 0) == fees
    for member_id in members:
        b = ledger.balance(session, member_id)
        by_state = dict(
            session.execute(
                select(Order.commission_state, func.sum(Commission.amount_fen - Commission.reversed_fen))
                .join(Order, Order.id == Commission.order_id)
                .where(Commission.member_id == member_id)
                .group_by(Order.commission_state)
            ).all()
        )
        member_fees = session.scalar(
            select(func.sum(Withdrawal.fee_fen)).where(
                Withdrawal.member_id == member_id, Withdrawal.status == WithdrawalStatus.PAID
            )
        ) or 0
        assert b.pending_fen == by_state.get(CommissionState.PENDING, 0)
        assert b.frozen_fen == by_state.get(CommissionState.FROZEN, 0)
        released = by_state.get(CommissionState.AVAILABLE, 0)
        assert b.available_fen + b.withdrawing_fen + b.withdrawn_fen + member_fees == released
        assert b.withdrawing_fen >= 0 and b.withdrawn_fen >= 0
    for order in session.scalars(select(Order)):
        rows = session.scalars(select(Commission).where(Commission.order_id == order.id)).all()
        for c in rows:
            assert c.amount_fen - c.reversed_fen == commission.worth_after_refunds(c.amount_fen, order.refunded_fen, order.paid_fen)
            if order.refunded_fen == order.paid_fen:
                assert c.reversed_fen == c.amount_fen


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(sequence=ops)
def test_random_sequences_keep_the_ledger_exact(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], sequence: list[tuple[str, int, object]]
) -> None:
    with factory() as session:
        program_id = session.scalar(select(Program.id))
    if program_id is None:
        w = build(client, operator, factory, max_levels=3)
        ctx_links = [w.link, w.owner_link, make_link(factory, w.mentor)]
        members = [w.seller, w.owner, w.mentor]
        client.app.state.orders_world = (w.program_id, ctx_links, members)  # type: ignore[attr-defined]
    program_id, ctx_links, members = client.app.state.orders_world  # type: ignore[attr-defined]
    ctx: dict[str, object] = {"program_id": program_id, "links": ctx_links, "members": members, "orders": []}
    for step, op in enumerate(sequence):
        with factory() as session:
            _apply(session, op, ctx, step)
            session.commit()
    with factory() as session:
        _check(session, members)
