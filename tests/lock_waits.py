"""A firm hand-over between the sides of a race on real parallel PostgreSQL connections, in place of a
pause "long enough" for the others to reach their lock.

Each side joins with its own session's backend (``pg_backend_pid()``, the first statement of its
transaction). A side that reached the point the race is about (its work done, its transaction open)
holds there until every other side is blocked on a lock one of the sides holds (``pg_blocking_pids``),
has reached that point too, or has ended its transaction; then it goes on to its commit. When the
lock is missing the others run to their end (or to their own point) and the race's assertions see
what they did; a side that does none of that within :data:`WAIT_S` fails the test, so a slow machine
makes it wait longer, never pass unchecked. It watches the server on a connection of its own: the
statistics of ``pg_stat_activity`` are read once per transaction, so each look is a statement in
autocommit, and never on a pooled connection a finished side gave back.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from tests.sqlite_lock_waits import SqliteLockWaits

WAIT_S = 60.0  # generous: a loaded machine only makes the hold longer
POLL_S = 0.01

_LOOK = text(
    "SELECT pid, state, pg_blocking_pids(pid) AS blockers FROM pg_stat_activity WHERE pid = ANY(:pids)"
)


class LockWaits:
    """The ``parties`` sides of one race; :attr:`reached` is set once the first of them holds."""

    def __init__(self, factory: sessionmaker[Session], parties: int, *, wait_s: float = WAIT_S) -> None:
        self.parties = parties
        self.wait_s = wait_s
        self.reached = threading.Event()
        self._url = factory.kw["bind"].url
        self._joined = threading.Condition()
        self._pids: dict[int, int] = {}  # thread ident -> backend pid
        self._holding: set[int] = set()  # backend pids that reached their point

    def join(self, session: Session) -> None:
        """This thread is a side of the race, on ``session`` (its transaction begins here)."""
        pid = session.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        with self._joined:
            self._pids[threading.get_ident()] = int(pid)
            self._joined.notify_all()

    def leave(self) -> None:
        """This side's work is over (PostgreSQL shows it: the session is idle once it ended)."""

    def close(self) -> None:
        """Nothing to stop on PostgreSQL (``SqliteLockWaits.close``)."""

    def hold(self) -> None:
        """This side reached its point: wait until every other side waits for a lock of the race's,
        reached its point too, or ended its transaction. A thread that did not join (a test's own
        set-up calling the same function) goes on at once."""
        mine = self._pids.get(threading.get_ident())
        if mine is None:
            return
        with self._joined:
            self._holding.add(mine)
            if not self._joined.wait_for(lambda: len(self._pids) == self.parties, self.wait_s):
                raise AssertionError(
                    f"only {len(self._pids)} of {self.parties} sides joined in {self.wait_s:g} s"
                )
            pids = set(self._pids.values())
        self.reached.set()
        others = pids - {mine}
        deadline = time.monotonic() + self.wait_s
        engine = create_engine(self._url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                while True:
                    rows = conn.execute(_LOOK, {"pids": sorted(others)}).all()
                    seen = {row.pid: row for row in rows}
                    with self._joined:
                        holding = set(self._holding)
                    going = [
                        f"{pid}: {seen[pid].state}, blocked by {seen[pid].blockers}"
                        for pid in sorted(others - holding)
                        if pid in seen and seen[pid].state != "idle" and not set(seen[pid].blockers) & pids
                    ]
                    if not going:
                        return
                    if time.monotonic() > deadline:
                        raise AssertionError(
                            f"backend {mine} held {self.wait_s:g} s, but the other sides neither waited for "
                            f"a lock of the race nor ended: {'; '.join(going)}"
                        )
                    time.sleep(POLL_S)
        finally:
            engine.dispose()


def lock_waits(factory: sessionmaker[Session], parties: int) -> LockWaits | SqliteLockWaits:
    """The hand-over for the database ``factory`` works in: PostgreSQL's row locks or SQLite's write lock."""
    if factory.kw["bind"].dialect.name == "sqlite":
        return SqliteLockWaits(parties)
    return LockWaits(factory, parties)


def two_sides(
    factory: sessionmaker[Session],
    first: Callable[[Session], Any],
    second: Callable[[Session], Any],
    waits: LockWaits | SqliteLockWaits,
) -> tuple[object, object]:
    """``first`` and ``second`` on two connections of ``factory``: the first at once, the second once the
    first holds (``waits.hold`` in a function it calls, see ``paused``). Each commits its work and gives
    its result, or rolls back and gives its exception."""
    results: dict[str, object] = {}

    def run(name: str, work: Callable[[Session], Any]) -> None:
        with factory() as session:
            waits.join(session)
            try:
                if name == "second" and not waits.reached.wait(WAIT_S):
                    raise AssertionError(f"the first side did not reach its hold in {WAIT_S:.0f} s")
                result = work(session)
                session.commit()
                results[name] = result
            except Exception as exc:
                session.rollback()
                results[name] = exc
            finally:
                waits.leave()

    threads = [threading.Thread(target=run, args=side) for side in (("first", first), ("second", second))]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        waits.close()
    return results["first"], results["second"]


def paused(function: Callable[..., Any], waits: LockWaits | SqliteLockWaits) -> Callable[..., Any]:
    """``function``, which then holds its side of the race (``waits.hold``) before returning."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        result = function(*args, **kwargs)
        waits.hold()
        return result

    return wrapper


def answered_while_held(
    factory: sessionmaker[Session], lock: Callable[[Session], object], request: Callable[[], Any]
) -> Any:
    """``request``'s answer, sent while another connection holds what ``lock`` takes; fails the test if
    the request was still waiting after ``WAIT_S`` (a wait without a bound), then lets go either way."""
    answers: list[Any] = []
    with factory() as holder:
        lock(holder)
        sender = threading.Thread(target=lambda: answers.append(request()))
        sender.start()
        sender.join(WAIT_S)
        waited_on = sender.is_alive()
        holder.rollback()
        sender.join()
    assert not waited_on, "the request waited for the lock without a bound"
    return answers[0]


def assert_shed(response: Any) -> None:
    """``response`` is a request answered as shed: 503 ``overloaded`` problem+json with Retry-After."""
    assert (response.status_code, response.json()["code"]) == (503, "overloaded"), response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert int(response.headers["Retry-After"]) >= 1
