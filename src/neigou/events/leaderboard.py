"""An event's salespeople ranked by the GMV of the event's orders they brought (what was paid less what
was refunded since, ``net_fen``, as every GMV of the platform). As tier evaluation, orders a confirmed
risk case names count for nothing, and a member a confirmed case suspended is left off (``ranked``).

Without Redis each look-up is one grouped query. With Redis the ranking is a sorted set refreshed
from that query at most every ``REFRESH_SECONDS`` by one process (a lock key), so 20,000 salespeople
watching their rank cost one grouped query per refresh, and each look-up is ZREVRANGE / ZREVRANK.

A reader never reads a board that is merely not built yet. The set, with its ``BUILT`` member, and its
freshness flag are written in one MULTI after the query, and the lock that says a refresh is under way
is a key of its own: while another process refreshes, a board built earlier answers (seconds stale),
and an absent one (an event's first look, or a Redis that lost the key) is waited for, up to
``WAIT_SECONDS``; past that a few readers of the process (``DATABASE_READERS``) answer from the
database and the others 503 ``leaderboard_busy`` with Retry-After.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import redis
from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from neigou.kit.errors import Unavailable
from neigou.kit.i18n import Message
from neigou.orders.models import Order
from neigou.risk import holds

REFRESH_SECONDS = 5
# How long one refresh may hold its lock: past it, a refresher that died is taken over by the next reader.
REFRESHING_SECONDS = 30
# How long a reader waits for another's build of an absent board, looking every ``POLL_SECONDS``.
WAIT_SECONDS = 2.0
POLL_SECONDS = 0.05
# How many readers of a process answer from the database at once when the board is still absent after
# the wait; the next is answered 503 ``leaderboard_busy``.
DATABASE_READERS = 2
# The member every built set holds, below every salesperson: the set exists exactly when it was built,
# for an event nobody sold at too. Never a member id (those are digits).
BUILT = "built"
# The version of the set's form in its key names (the set, ``:fresh`` and ``:refreshing``): the release
# before the ``BUILT`` member read ``event-leaderboard:{id}`` with every member a salesperson, so during
# a rolling deploy each release reads and refreshes only the sets of its own form. A change of the form
# takes the next version.
KEY_VERSION = "v2"

# Deletes the refresh lock only while it is still this refresher's (it may have expired and been taken).
_UNLOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class BoardBusy(Unavailable):
    """503 while an event's leaderboard is first built and the process already answers enough readers
    from the database: worth a retry in a second."""

    code = "leaderboard_busy"
    retry_after = 1


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
        self._unlock = client.register_script(_UNLOCK)
        self._database_readers = threading.BoundedSemaphore(DATABASE_READERS)

    def _key(self, event_id: int) -> str:
        return f"{self.namespace}:event-leaderboard:{KEY_VERSION}:{event_id}"

    def refresh(self, session: Session, event_id: int) -> bool:
        """Make the set answerable: True when it is fresh, was rebuilt here, or was built before and
        another process is refreshing it; False when it is still absent after ``WAIT_SECONDS`` of
        another's refresh (the caller answers from the database). The session must only have read: its
        transaction is ended before each wait, so its connection goes back to the pool meanwhile (CONVENTIONS,
        no session held across a wait); a rebuild or the database fallback opens a fresh one."""
        key = self._key(event_id)
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            if self._fresh(key):
                return True
            token = secrets.token_hex(8)
            if self.client.set(f"{key}:refreshing", token, nx=True, ex=REFRESHING_SECONDS):
                try:
                    if not self._fresh(key):  # unless another's refresh committed since the look above
                        self._rebuild(session, event_id)
                finally:
                    self._unlock(keys=[f"{key}:refreshing"], args=[token])
                return True
            built = bool(self.client.exists(key))
            if built or time.monotonic() >= deadline:
                return built
            session.rollback()  # the connection goes back to the pool while this reader waits
            time.sleep(POLL_SECONDS)

    def _fresh(self, key: str) -> bool:
        """Whether the set is built and was within ``REFRESH_SECONDS``."""
        return int(self.client.exists(key, f"{key}:fresh")) == 2

    def _rebuild(self, session: Session, event_id: int) -> None:
        """The set from the database; it and its freshness flag are written together, after the query."""
        key = self._key(event_id)
        scores: dict[str, float] = {str(m): int(g) for m, g in session.execute(ranking(event_id))}
        scores[BUILT] = float("-inf")
        pipe = self.client.pipeline(transaction=True)
        pipe.delete(key)
        pipe.zadd(key, scores)
        pipe.set(f"{key}:fresh", "1", ex=REFRESH_SECONDS)
        pipe.execute()

    @contextmanager
    def _from_database(self) -> Iterator[None]:
        """One of the process's ``DATABASE_READERS`` slots, or 503 ``leaderboard_busy``."""
        if not self._database_readers.acquire(blocking=False):
            raise BoardBusy(
                Message("This event's leaderboard is being built; retry in a moment."),
                code="leaderboard_busy",
            )
        try:
            yield
        finally:
            self._database_readers.release()

    def page(self, session: Session, event_id: int, *, limit: int, offset: int) -> tuple[list[Standing], int]:
        if not self.refresh(session, event_id):
            with self._from_database():
                return page_from_database(session, event_id, limit=limit, offset=offset)
        key = self._key(event_id)
        rows: list[tuple[bytes, float]] = self.client.zrevrange(
            key, offset, offset + limit - 1, withscores=True
        )  # type: ignore[assignment]
        total = max(int(self.client.zcard(key)) - 1, 0)  # less the ``BUILT`` member
        return [
            Standing(int(m), int(g), offset + i + 1) for i, (m, g) in enumerate(rows) if m != BUILT.encode()
        ], total

    def standing(self, session: Session, event_id: int, member_id: int) -> Standing | None:
        if not self.refresh(session, event_id):
            with self._from_database():
                return standing_from_database(session, event_id, member_id)
        key = self._key(event_id)
        score = self.client.zscore(key, str(member_id))
        if score is None:
            return None
        ahead = int(self.client.zcount(key, f"({int(score)}", "+inf"))
        return Standing(member_id, int(score), ahead + 1)
