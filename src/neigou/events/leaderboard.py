"""An event's salespeople ranked by the GMV of the event's orders they brought (what was paid less what
was refunded since, ``net_fen``, as every GMV of the platform). As tier evaluation, orders a confirmed
risk case names count for nothing, and a member a confirmed case suspended is left off (``ranked``).

Without Redis each look-up is one grouped query. With Redis the ranking is a sorted set refreshed
from that query at most every ``REFRESH_SECONDS`` by one process (a lock key), so 20,000 salespeople
watching their rank cost one grouped query per refresh, and each look-up is ZREVRANGE / ZREVRANK.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis
from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from neigou.orders.models import Order
from neigou.risk import holds

REFRESH_SECONDS = 5


@dataclass(frozen=True)
class Standing:
    """A salesperson's place: rank 1 is the top."""

    member_id: int
    gmv_fen: int
    rank: int


def net_fen() -> ColumnElement[int]:
    """An order's GMV: paid less refunded."""
    return Order.paid_fen - Order.refunded_fen


def ranked() -> ColumnElement[bool]:
    """True for an order a ranking counts: no confirmed risk case names it and its salesperson is
    not suspended (the rule of every board)."""
    return holds.not_confirmed(Order.id) & holds.not_suspended(Order.member_id)


def ranking(event_id: int) -> Select[int | None, int]:
    """(member, GMV) of an event's orders, largest first."""
    gmv = func.sum(net_fen())
    return (
        select(Order.member_id, gmv.label("gmv"))
        .where(Order.event_id == event_id, Order.member_id.is_not(None), ranked())
        .group_by(Order.member_id)
        .order_by(gmv.desc(), Order.member_id)
    )


def page_from_database(
    session: Session, event_id: int, *, limit: int, offset: int
) -> tuple[list[Standing], int]:
    """A page of the ranking and how many salespeople it holds."""
    rows = list(session.execute(ranking(event_id).limit(limit).offset(offset)))
    total = session.scalar(select(func.count()).select_from(ranking(event_id).order_by(None).subquery())) or 0
    return [Standing(int(m or 0), int(g), offset + i + 1) for i, (m, g) in enumerate(rows)], int(total)


def standing_from_database(session: Session, event_id: int, member_id: int) -> Standing | None:
    """One salesperson's rank (ties share the better rank)."""
    mine = session.scalar(
        select(func.sum(net_fen())).where(Order.event_id == event_id, Order.member_id == member_id, ranked())
    )
    if mine is None:
        return None
    totals = ranking(event_id).order_by(None).subquery()
    ahead = session.scalar(select(func.count()).select_from(totals).where(totals.c.gmv > mine)) or 0
    return Standing(member_id, int(mine), int(ahead) + 1)


class Leaderboard:
    """The Redis sorted set of an event's ranking."""

    def __init__(self, client: redis.Redis, namespace: str) -> None:
        self.client = client
        self.namespace = namespace

    def _key(self, event_id: int) -> str:
        return f"{self.namespace}:event-leaderboard:{event_id}"

    def refresh(self, session: Session, event_id: int) -> None:
        """Rebuild the set from the database unless another refresh is fresh."""
        key = self._key(event_id)
        if not self.client.set(f"{key}:fresh", "1", nx=True, ex=REFRESH_SECONDS):
            return
        scores = {str(m): int(g) for m, g in session.execute(ranking(event_id))}
        pipe = self.client.pipeline(transaction=True)
        pipe.delete(key)
        if scores:
            pipe.zadd(key, scores)
        pipe.execute()

    def page(self, session: Session, event_id: int, *, limit: int, offset: int) -> tuple[list[Standing], int]:
        self.refresh(session, event_id)
        key = self._key(event_id)
        rows: list[tuple[bytes, float]] = self.client.zrevrange(
            key, offset, offset + limit - 1, withscores=True
        )  # type: ignore[assignment]
        total = int(self.client.zcard(key))
        return [Standing(int(m), int(g), offset + i + 1) for i, (m, g) in enumerate(rows)], total

    def standing(self, session: Session, event_id: int, member_id: int) -> Standing | None:
        self.refresh(session, event_id)
        key = self._key(event_id)
        score = self.client.zscore(key, str(member_id))
        if score is None:
            return None
        ahead = int(self.client.zcount(key, f"({int(score)}", "+inf"))
        return Standing(member_id, int(score), ahead + 1)
