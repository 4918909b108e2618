"""Queries of the distribution network: a member's team and a program's leaderboards.

Set-based: a page of the team is one bounded recursive query joined to one grouped order query (its
level totals one more, grouped); a leaderboard
is one grouped query ranked with ``row_number()`` (ties go to the earlier member), so a page costs
the same few queries whatever the team's or the program's size.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Integer, Select, case, func, literal, select
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import CTE, Subquery

from neigou.network.rules import Period
from neigou.orders.models import Order
from neigou.programs.models import Member
from neigou.risk import holds

Metric = Literal["orders", "gmv_fen", "recruits"]
METRICS: tuple[Metric, ...] = ("orders", "gmv_fen", "recruits")


@dataclass(frozen=True)
class TeamRow:
    """One member of a team with their sales in the period."""

    id: int
    name: str
    tier_code: str | None
    inviter_id: int
    inviter_name: str
    level: int
    joined_at: datetime
    orders: int
    gmv_fen: int


@dataclass(frozen=True)
class Sales:
    """Orders (fully refunded ones left out) and GMV (paid minus refunded) of a member in a period."""

    orders: int
    gmv_fen: int


@dataclass(frozen=True)
class RankRow:
    """A place on a leaderboard."""

    rank: int
    member_id: int
    name: str
    value: int


def _counted_order() -> ColumnElement[int]:
    # A fully refunded order is no sale; a partly refunded one still counts, at its net amount, and an
    # order paid 0 (a 100% coupon) counts too (``Order.fully_refunded``, as on the dashboard).
    return case((Order.fully_refunded, 0), else_=1)


def _sales_by_member(program_id: int, period: Period) -> Select[int | None, int, int]:
    return (
        select(
            Order.member_id,
            func.sum(_counted_order()).label("orders"),
            func.sum(Order.paid_fen - Order.refunded_fen).label("gmv_fen"),
        )
        .where(
            Order.program_id == program_id,
            Order.member_id.is_not(None),
            Order.paid_at >= period.start,
            Order.paid_at < period.end,
        )
        .group_by(Order.member_id)
    )


def _down(member_id: int, program_id: int, depth: int) -> CTE:
    """(id, level) of a member's recruits down to ``depth`` levels (a recursive CTE)."""
    down = (
        select(Member.id.label("id"), literal(1, Integer).label("level"))
        .where(Member.inviter_id == member_id, Member.program_id == program_id)
        .cte("down", recursive=True)
    )
    return down.union_all(
        select(Member.id, down.c.level + 1)
        .join(down, Member.inviter_id == down.c.id)
        .where(down.c.level < depth, Member.program_id == program_id)
    )


def _team_sales(down: CTE, program_id: int, period: Period) -> Subquery:
    return (
        _sales_by_member(program_id, period)
        .where(Order.member_id.in_(select(down.c.id).scalar_subquery()))
        .subquery()
    )


def team(
    session: Session,
    *,
    member_id: int,
    program_id: int,
    depth: int,
    period: Period,
    limit: int,
    offset: int = 0,
) -> list[TeamRow]:
    """A page of a member's recruits down to ``depth`` levels (by level, then joining order), each with
    their sales in ``period`` and their inviter's name."""
    if depth < 1:
        return []
    down = _down(member_id, program_id, depth)
    sales = _team_sales(down, program_id, period)
    inviter = aliased(Member)
    rows = session.execute(
        select(
            Member.id,
            Member.name,
            Member.tier_code,
            Member.inviter_id,
            inviter.name,
            down.c.level,
            Member.joined_at,
            func.coalesce(sales.c.orders, 0),
            func.coalesce(sales.c.gmv_fen, 0),
        )
        .join(down, Member.id == down.c.id)
        .join(inviter, inviter.id == Member.inviter_id)
        .outerjoin(sales, sales.c.member_id == Member.id)
        .order_by(down.c.level, Member.joined_at, Member.id)
        .limit(limit)
        .offset(offset)
    )
    return [
        TeamRow(int(i), name, tier, int(inviter_id), inviter_name, int(level), joined, int(orders), int(gmv))
        for i, name, tier, inviter_id, inviter_name, level, joined, orders, gmv in rows
    ]


def team_levels(
    session: Session, *, member_id: int, program_id: int, depth: int, period: Period
) -> dict[int, tuple[int, int, int]]:
    """(members, orders, GMV) of each level of a member's team that has members, in one grouped query."""
    if depth < 1:
        return {}
    down = _down(member_id, program_id, depth)
    sales = _team_sales(down, program_id, period)
    rows = session.execute(
        select(
            down.c.level,
            func.count(down.c.id),
            func.coalesce(func.sum(sales.c.orders), 0),
            func.coalesce(func.sum(sales.c.gmv_fen), 0),
        )
        .outerjoin(sales, sales.c.member_id == down.c.id)
        .group_by(down.c.level)
    )
    return {int(level): (int(n), int(orders), int(gmv)) for level, n, orders, gmv in rows}


def sales_of(session: Session, *, member_id: int, program_id: int, period: Period) -> Sales:
    """One member's own sales in a period."""
    row = session.execute(_sales_by_member(program_id, period).where(Order.member_id == member_id)).first()
    return Sales(int(row[1]), int(row[2])) if row is not None else Sales(0, 0)


def _scores(program_id: int, period: Period, metric: Metric) -> Select[int | None, int]:
    """(member_id, value) of everyone with a positive score in the period.

    As tier evaluation, orders a confirmed risk case names count for nothing; a member a confirmed
    case suspended has no score (their sales and recruits are left off every board)."""
    if metric == "recruits":
        value: ColumnElement[int] = func.count(Member.id)
        return (
            select(Member.inviter_id.label("member_id"), value.label("value"))
            .where(
                Member.program_id == program_id,
                Member.inviter_id.is_not(None),
                Member.joined_at >= period.start,
                Member.joined_at < period.end,
                holds.not_suspended(Member.inviter_id),
            )
            .group_by(Member.inviter_id)
        )
    value = (
        func.sum(_counted_order()) if metric == "orders" else func.sum(Order.paid_fen - Order.refunded_fen)
    )
    return (
        select(Order.member_id.label("member_id"), value.label("value"))
        .where(
            Order.program_id == program_id,
            Order.member_id.is_not(None),
            Order.paid_at >= period.start,
            Order.paid_at < period.end,
            holds.not_confirmed(Order.id),
            holds.not_suspended(Order.member_id),
        )
        .group_by(Order.member_id)
        .having(value > 0)
    )


def _ranked(program_id: int, period: Period, metric: Metric) -> Select[Any]:
    scores = _scores(program_id, period, metric).subquery()
    return select(
        scores.c.member_id,
        scores.c.value,
        func.row_number().over(order_by=(scores.c.value.desc(), scores.c.member_id)).label("rank"),
    )


def leaderboard(
    session: Session, *, program_id: int, period: Period, metric: Metric, limit: int, offset: int = 0
) -> list[RankRow]:
    """Members of a program ranked ``offset + 1`` to ``offset + limit`` by ``metric`` in ``period``;
    ties go to the earlier member."""
    ranked = _ranked(program_id, period, metric).subquery()
    rows = session.execute(
        select(ranked.c.rank, ranked.c.member_id, Member.name, ranked.c.value)
        .join(Member, Member.id == ranked.c.member_id)
        .where(ranked.c.rank > offset, ranked.c.rank <= offset + limit)
        .order_by(ranked.c.rank)
    )
    return [RankRow(int(rank), int(member), name, int(value)) for rank, member, name, value in rows]


def rank_of(
    session: Session, *, program_id: int, period: Period, metric: Metric, member_id: int
) -> tuple[int, int] | None:
    """(rank, value) of one member on a leaderboard, or None when they have no score in the period."""
    ranked = _ranked(program_id, period, metric).subquery()
    row = session.execute(
        select(ranked.c.rank, ranked.c.value).where(ranked.c.member_id == member_id)
    ).first()
    return (int(row[0]), int(row[1])) if row is not None else None


def ranked_members(session: Session, *, program_id: int, period: Period, metric: Metric) -> int:
    """How many members have a score on a leaderboard."""
    scores = _scores(program_id, period, metric).subquery()
    return int(session.scalar(select(func.count()).select_from(scores)) or 0)
