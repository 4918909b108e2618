"""The console's home: a program today and this month, money by state, what waits for an operator,
and the last 30 days as a trend. Every figure is one grouped query; days are the program's own."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, Integer, case, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from neigou.groups import repository as groups_repo
from neigou.groups.compliance import compliance, day_start, local_date
from neigou.ledger import repository as ledger
from neigou.ledger.models import Account, WithdrawalStatus
from neigou.links.models import CouponClaim, LinkClick
from neigou.links.useragent import UaClass
from neigou.orders.models import Commission, Order
from neigou.programs.models import Program
from neigou.risk.models import CaseStatus, RiskCase

TREND_DAYS = 30


@dataclass(frozen=True)
class Figures:
    """Sales of a span: orders (fully refunded left out, ``Order.fully_refunded``), GMV net of refunds, clicks, claims, commission."""

    orders: int
    gmv_fen: int
    clicks: int
    claims: int
    commission_fen: int


@dataclass(frozen=True)
class Dashboard:
    """One program's home page."""

    program_id: int
    on: date
    today: Figures
    month: Figures
    pending_fen: int
    frozen_fen: int
    available_fen: int
    withdrawals_to_approve: int
    withdrawals_to_approve_fen: int
    withdrawals_to_pay: int
    withdrawals_to_pay_fen: int
    groups_at_risk: int
    groups_missed: int
    counts_held: int
    risk_cases_open: int
    risk_held_fen: int
    trend_days: list[date]
    trend_orders: list[int]
    trend_gmv_fen: list[int]


def _figures(session: Session, program_id: int, start: datetime, end: datetime) -> Figures:
    fully = case((Order.fully_refunded, 1), else_=0)
    n, full, paid, refunded = session.execute(
        select(
            func.count(Order.id),
            func.sum(fully, type_=Integer),
            func.sum(Order.paid_fen),
            func.sum(Order.refunded_fen),
        ).where(Order.program_id == program_id, Order.paid_at >= start, Order.paid_at < end)
    ).one()
    clicks = session.scalar(
        select(func.count(LinkClick.id)).where(
            LinkClick.program_id == program_id,
            LinkClick.clicked_at >= start,
            LinkClick.clicked_at < end,
            LinkClick.ua_class != UaClass.BOT,
        )
    )
    claims = session.scalar(
        select(func.count(CouponClaim.id)).where(
            CouponClaim.program_id == program_id,
            CouponClaim.claimed_at >= start,
            CouponClaim.claimed_at < end,
        )
    )
    commission = session.scalar(
        select(func.sum(Commission.amount_fen - Commission.reversed_fen))
        .join(Order, Order.id == Commission.order_id)
        .where(Order.program_id == program_id, Order.paid_at >= start, Order.paid_at < end)
    )
    return Figures(
        orders=int(n or 0) - int(full or 0),
        gmv_fen=int(paid or 0) - int(refunded or 0),
        clicks=int(clicks or 0),
        claims=int(claims or 0),
        commission_fen=int(commission or 0),
    )


def _day_index(column: InstrumentedAttribute[datetime], starts: list[datetime]) -> ColumnElement[int]:
    """Which of the days beginning at ``starts`` (ascending) an instant falls on: one CASE, so a day
    is the program's local day even across a daylight-saving change."""
    return case(*((column >= start, index) for index, start in reversed(list(enumerate(starts)))), else_=-1)


def _trend(session: Session, program: Program, today: date) -> tuple[list[date], list[int], list[int]]:
    days = [today - timedelta(days=back) for back in range(TREND_DAYS - 1, -1, -1)]
    starts = [day_start(d, program.timezone) for d in days]
    end = day_start(today + timedelta(days=1), program.timezone)
    index = _day_index(Order.paid_at, starts).label("day")
    fully = case((Order.fully_refunded, 1), else_=0)
    rows = session.execute(
        select(
            index,
            func.count(Order.id),
            func.sum(fully, type_=Integer),
            func.sum(Order.paid_fen - Order.refunded_fen),
        )
        .where(Order.program_id == program.id, Order.paid_at >= starts[0], Order.paid_at < end)
        .group_by(index)
    )
    orders = [0] * len(days)
    gmv = [0] * len(days)
    for day, n, full, net in rows:
        if 0 <= int(day) < len(days):
            orders[int(day)] = int(n) - int(full or 0)
            gmv[int(day)] = int(net or 0)
    return days, orders, gmv


def dashboard(session: Session, *, program: Program, at: datetime) -> Dashboard:
    """The home page of ``program`` at ``at`` (today and this month in the program's time zone)."""
    today = local_date(at, program.timezone)
    day = day_start(today, program.timezone)
    tomorrow = day_start(today + timedelta(days=1), program.timezone)
    month = day_start(today.replace(day=1), program.timezone)
    sums = ledger.ledger_sums(session, program.id)
    waiting = ledger.waiting_withdrawals(session, program.id)
    to_approve = waiting.get(WithdrawalStatus.REQUESTED, (0, 0))
    to_pay = waiting.get(WithdrawalStatus.APPROVED, (0, 0))
    cases_open, held_fen = session.execute(
        select(func.count(RiskCase.id), func.sum(RiskCase.held_fen)).where(
            RiskCase.program_id == program.id, RiskCase.status == CaseStatus.OPEN
        )
    ).one()
    groups = compliance(session, program=program, on=today)
    days, orders, gmv = _trend(session, program, today)
    return Dashboard(
        program_id=program.id,
        on=today,
        today=_figures(session, program.id, day, tomorrow),
        month=_figures(session, program.id, month, tomorrow),
        pending_fen=sums.get(Account.PENDING.value, 0),
        frozen_fen=sums.get(Account.FROZEN.value, 0),
        available_fen=sums.get(Account.AVAILABLE.value, 0),
        withdrawals_to_approve=to_approve[0],
        withdrawals_to_approve_fen=to_approve[1],
        withdrawals_to_pay=to_pay[0],
        withdrawals_to_pay_fen=to_pay[1],
        groups_at_risk=len(groups.at_risk),
        groups_missed=len(groups.missed),
        counts_held=groups_repo.count_held_for_review(session, program.id),
        risk_cases_open=int(cases_open or 0),
        risk_held_fen=int(held_fen or 0),
        trend_days=days,
        trend_orders=orders,
        trend_gmv_fen=gmv,
    )
