"""Random sequences of orders, refunds, completions, settlements and withdrawals against the real
database: the ledger always balances, no fen is created or lost, every state holds exactly what the
orders in it are worth, and a full refund leaves nothing."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime, timedelta

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


@dataclass(frozen=True)
class Op:
    """One step: ``n`` picks a member or an order, ``amount`` sizes a refund or a withdrawal."""

    kind: str
    n: int = 0
    amount: int = 0
    lines: tuple[int, ...] = ()


@dataclass
class Ctx:
    """The world the steps act on."""

    program_id: int
    links: list[str]
    members: list[int]
    orders: list[int] = field(default_factory=list)


ops = st.lists(
    st.one_of(
        st.builds(
            Op,
            st.just("order"),
            st.integers(0, 2),
            st.just(0),
            st.lists(st.integers(0, 50_000), min_size=1, max_size=3).map(tuple),
        ),
        st.builds(
            Op,
            st.sampled_from(["refund", "refund_all", "complete"]),
            st.integers(0, 20),
            st.integers(1, 10_000),
        ),
        st.builds(Op, st.just("settle"), st.integers(0, 20)),
        st.builds(Op, st.just("withdraw"), st.integers(0, 2), st.integers(1, 3000)),
        st.builds(Op, st.sampled_from(["reject", "pay"]), st.integers(0, 20)),
    ),
    min_size=1,
    max_size=25,
)


def _order(session: Session, op: Op, ctx: Ctx, at: datetime) -> None:
    data = OrderIn(
        external_id=f"P-{next(SERIAL)}",
        program_id=ctx.program_id,
        customer_ref="c",
        link_code=ctx.links[op.n],
        items=tuple(ItemIn(SKU, 1, fen) for fen in op.lines),
        paid_at=at,
    )
    order, _ = service.take_order(
        session, data=data, secret_key=SECRET, source=OrderSource.API, actor=TEST_ACTOR, now=at
    )
    ctx.orders.append(order.id)


def _on_order(session: Session, op: Op, ctx: Ctx, at: datetime) -> None:
    if not ctx.orders:
        return
    order = session.get(Order, ctx.orders[op.n % len(ctx.orders)])
    assert order is not None
    if op.kind == "complete":
        service.complete(session, order=order, at=max(at, order.paid_at), actor=TEST_ACTOR)
        return
    left = order.paid_fen - order.refunded_fen
    amount = left if op.kind == "refund_all" else min(left, max(1, left * op.amount // 10_000))
    if amount > 0:
        service.refund(
            session, order=order, refund_id=f"R-{next(SERIAL)}", amount_fen=amount, at=at, actor=TEST_ACTOR
        )


def _withdraw(session: Session, op: Op, ctx: Ctx, at: datetime) -> None:
    member = session.get(Member, ctx.members[op.n])
    assert member is not None
    available = ledger.account_total(session, member.id, Account.AVAILABLE)
    credited = ledger.last_credit_at(session, member.id, Account.AVAILABLE)
    try:
        with session.begin_nested():
            withdrawals.request(
                session,
                member=member,
                amount_fen=op.amount,
                request_id=f"W-{next(SERIAL)}",
                actor=TEST_ACTOR,
                at=at,
            )
    except ProblemError as exc:
        if exc.code == "withdrawal_before_available":  # a settlement released it as of a later day
            assert credited is not None
            assert at < credited
            return
        if exc.code not in {"insufficient_balance", "below_minimum"}:
            raise
        return
    assert op.amount <= available
    assert credited is None or credited <= at


def _payouts(session: Session, op: Op, ctx: Ctx, at: datetime) -> None:
    requested = ledger.list_withdrawals(session, program_id=ctx.program_id, status=WithdrawalStatus.REQUESTED)
    if op.kind == "reject":
        if requested:
            withdrawals.reject(
                session,
                withdrawal_id=requested[op.n % len(requested)].id,
                reason="r",
                actor=TEST_ACTOR,
                at=at,
            )
        return
    for w in requested:
        withdrawals.approve(session, withdrawal_id=w.id, actor=TEST_ACTOR, at=at)
    if withdrawals.ids_approved_unbatched(session, ctx.program_id):
        batch = payouts.create_batch(session, program_id=ctx.program_id, actor=TEST_ACTOR, at=at)
        payouts.pay_batch(session, batch_id=batch.id, actor=TEST_ACTOR, at=at)


def _apply(session: Session, op: Op, ctx: Ctx, at: datetime) -> None:
    if op.kind == "order":
        _order(session, op, ctx, at)
    elif op.kind in {"refund", "refund_all", "complete"}:
        _on_order(session, op, ctx, at)
    elif op.kind == "settle":
        program = session.get(Program, ctx.program_id)
        assert program is not None
        settlement.settle(session, program=program, as_of=at + timedelta(days=op.n), actor=TEST_ACTOR, now=at)
    elif op.kind == "withdraw":
        _withdraw(session, op, ctx, at)
    else:
        _payouts(session, op, ctx, at)


def _check(session: Session, members: list[int]) -> None:
    assert ledger.unbalanced_postings(session) == []
    sums = ledger.ledger_sums(session)
    assert sum(sums.values()) == 0
    kept = session.scalar(select(func.sum(Commission.amount_fen - Commission.reversed_fen))) or 0
    assert sums.get("commission_expense", 0) == -kept
    fees = (
        session.scalar(select(func.sum(Withdrawal.fee_fen)).where(Withdrawal.status == WithdrawalStatus.PAID))
        or 0
    )
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
        member_fees = (
            session.scalar(
                select(func.sum(Withdrawal.fee_fen)).where(
                    Withdrawal.member_id == member_id, Withdrawal.status == WithdrawalStatus.PAID
                )
            )
            or 0
        )
        assert b.pending_fen == by_state.get(CommissionState.PENDING, 0)
        assert b.frozen_fen == by_state.get(CommissionState.FROZEN, 0)
        released = by_state.get(CommissionState.AVAILABLE, 0)
        assert b.available_fen + b.withdrawing_fen + b.withdrawn_fen + member_fees == released
        assert b.withdrawing_fen >= 0
        assert b.withdrawn_fen >= 0
    for order in session.scalars(select(Order)):
        rows = session.scalars(select(Commission).where(Commission.order_id == order.id)).all()
        for c in rows:
            assert c.amount_fen - c.reversed_fen == commission.worth_after_refunds(
                c.amount_fen, order.refunded_fen, order.paid_fen
            )
            if order.refunded_fen == order.paid_fen:
                assert c.reversed_fen == c.amount_fen


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sequence=ops)
def test_random_sequences_keep_the_ledger_exact(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], sequence: list[Op]
) -> None:
    state = client.app.state  # type: ignore[attr-defined]
    if not hasattr(state, "ledger_world"):  # the world is built once; every example adds to it
        w = build(client, operator, factory, max_levels=3)
        state.ledger_world = Ctx(
            w.program_id, [w.link, w.owner_link, make_link(factory, w.mentor)], [w.seller, w.owner, w.mentor]
        )
    ctx = Ctx(state.ledger_world.program_id, state.ledger_world.links, state.ledger_world.members)
    # Time runs on across examples, as the world does: a withdrawal or an order an earlier example made
    # is never paid out or refunded before it was requested or paid.
    start = getattr(state, "ledger_hours", 0)
    state.ledger_hours = start + len(sequence)
    for step, op in enumerate(sequence, start=start):
        with factory() as session:
            _apply(session, op, ctx, PAID_AT + timedelta(hours=step))
            session.commit()
    with factory() as session:
        _check(session, ctx.members)
