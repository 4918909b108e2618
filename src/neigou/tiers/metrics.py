"""A period's tier metrics for a whole program in a few set-based queries (SQLite and PostgreSQL).

Per member, over ``[start, end)`` (a calendar month in the program's time zone):

* ``orders``: orders attributed to the member and paid in the period that are not fully refunded,
  as the refunds stand when the query runs (a refund before evaluation can undo a promotion);
* ``gmv_fen``: the same orders' ``paid_fen − refunded_fen``;
* orders a confirmed risk case names count for nothing;
* ``direct_recruits``: members the member invited who joined in the period (under the member: a
  recruit moved to another upline afterwards still counts here), and
  ``recruits_by_tier`` the same recruits by the tier they hold at the period's end (the dated
  history, so re-running an evaluation later sees the same tiers).

The tier a member "holds at the period's end" is the latest ``MemberTierPeriod`` effective strictly
before ``end``; changes an evaluation makes from ``end`` on do not feed back into the same period.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, and_, case, func, select
from sqlalchemy.orm import Session

from neigou.orders.models import Order
from neigou.programs.models import Member, MemberInviterPeriod, MemberTierPeriod
from neigou.risk import holds
from neigou.tiers.rules import Metrics


@dataclass(frozen=True)
class PeriodFigures:
    """Every member's tier at the period's end and the metrics of those with any activity."""

    held: dict[int, str | None]
    metrics: dict[int, Metrics]


def held_at(
    program_id: int, at: datetime, member_ids: Sequence[int] | None = None
) -> Select[int, str | None]:
    """(member, tier held just before ``at``) for members who joined before ``at``: one windowed query."""
    ranked = (
        select(
            MemberTierPeriod.member_id.label("member_id"),
            MemberTierPeriod.tier_code.label("tier_code"),
            func.row_number()
            .over(
                partition_by=MemberTierPeriod.member_id,
                order_by=(MemberTierPeriod.effective_from.desc(), MemberTierPeriod.id.desc()),
            )
            .label("rn"),
        )
        .join(Member, Member.id == MemberTierPeriod.member_id)
        .where(Member.program_id == program_id, MemberTierPeriod.effective_from < at)
    )
    if member_ids is not None:
        ranked = ranked.where(Member.id.in_(member_ids))
    last = ranked.subquery("last_period")
    query = (
        select(Member.id, func.coalesce(last.c.tier_code, Member.tier_code).label("tier_code"))
        .outerjoin(last, and_(last.c.member_id == Member.id, last.c.rn == 1))
        .where(Member.program_id == program_id, Member.joined_at < at)
    )
    if member_ids is not None:
        query = query.where(Member.id.in_(member_ids))
    return query


def period_figures(
    session: Session,
    *,
    program_id: int,
    start: datetime,
    end: datetime,
    member_ids: Sequence[int] | None = None,
) -> PeriodFigures:
    """Tiers held at ``end`` and the metrics over ``[start, end)``: two set-based queries.

    ``member_ids`` narrows the whole computation to those members (the workspace's own card).
    """
    sales = (
        select(
            Order.member_id.label("member_id"),
            # Deliberately not ``Order.fully_refunded`` (the reports' rule, where an order paid 0
            # is a sale): an order paid 0 (a 100% coupon, a gift) is no sale toward a tier upgrade
            # here, or free orders would buy upgrades. See docs/tiers.md.
            func.sum(case((Order.refunded_fen < Order.paid_fen, 1), else_=0)).label("n"),
            func.sum(Order.paid_fen - Order.refunded_fen).label("gmv"),
        )
        .where(
            Order.program_id == program_id,
            Order.member_id.is_not(None),
            Order.paid_at >= start,
            Order.paid_at < end,
            holds.not_confirmed(Order.id),
        )
        .group_by(Order.member_id)
    )
    if member_ids is not None:
        sales = sales.where(Order.member_id.in_(member_ids))
    members = held_at(program_id, end, member_ids).subquery("held")
    sold = sales.subquery("sales")
    # One row per member: the tier held at the end and, when they sold, the period's sales.
    rows = session.execute(
        select(members.c.id, members.c.tier_code, sold.c.n, sold.c.gmv).outerjoin(
            sold, sold.c.member_id == members.c.id
        )
    )
    held: dict[int, str | None] = {}
    orders: dict[int, tuple[int, int]] = {}
    for member_id, tier, n, gmv in rows:
        held[member_id] = tier
        if n is not None:
            orders[member_id] = (int(n), int(gmv or 0))
    pairs = _recruits(session, program_id=program_id, start=start, end=end, member_ids=member_ids)
    recruit_tiers = held
    if member_ids is not None and pairs:
        wanted = sorted({r for _, r in pairs})
        recruit_tiers = {int(m): t for m, t in session.execute(held_at(program_id, end, wanted))}
    recruits: dict[int, dict[str | None, int]] = {}
    for inviter, recruit in pairs:
        by_tier = recruits.setdefault(inviter, {})
        code = recruit_tiers.get(recruit)
        by_tier[code] = by_tier.get(code, 0) + 1
    metrics: dict[int, Metrics] = {}
    for member_id in set(orders) | set(recruits):
        n_orders, gmv = orders.get(member_id, (0, 0))
        by_tier = recruits.get(member_id, {})
        metrics[member_id] = Metrics(
            direct_recruits=sum(by_tier.values()),
            recruits_by_tier={k: v for k, v in by_tier.items() if k is not None},
            orders=n_orders,
            gmv_fen=gmv,
        )
    return PeriodFigures(held=held, metrics=metrics)


def _recruits(
    session: Session, *, program_id: int, start: datetime, end: datetime, member_ids: Sequence[int] | None
) -> list[tuple[int, int]]:
    """(inviter, recruit) for every recruit who joined in ``[start, end)``, credited to the inviter they
    joined under (their latest inviter period from at most their ``joined_at``; the current inviter for
    a member stored without one): a recruit moved to another upline later still counts for the first."""
    joined = (Member.program_id == program_id, Member.joined_at >= start, Member.joined_at < end)
    ranked = (
        select(
            MemberInviterPeriod.member_id.label("member_id"),
            MemberInviterPeriod.inviter_id.label("inviter_id"),
            func.row_number()
            .over(
                partition_by=MemberInviterPeriod.member_id,
                order_by=(MemberInviterPeriod.effective_from.desc(), MemberInviterPeriod.id.desc()),
            )
            .label("rn"),
        )
        .join(Member, Member.id == MemberInviterPeriod.member_id)
        .where(*joined, MemberInviterPeriod.effective_from <= Member.joined_at)
        .subquery("joined_under")
    )
    inviter = case((ranked.c.member_id.is_(None), Member.inviter_id), else_=ranked.c.inviter_id)
    query = (
        select(inviter, Member.id)
        .outerjoin(ranked, and_(ranked.c.member_id == Member.id, ranked.c.rn == 1))
        .where(*joined, inviter.is_not(None))
    )
    if member_ids is not None:
        query = query.where(inviter.in_(member_ids))
    return [(int(by), int(recruit)) for by, recruit in session.execute(query) if by is not None]
