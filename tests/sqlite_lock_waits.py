"""The hand-over of ``tests.lock_waits`` on SQLite, whose one lock is the database's write lock.

SQLite cannot say who waits for whom, so each side's connection reports the statements it begins
(the driver's trace callback, called before a statement takes any lock). A side that reached its point
holds until every other side has reached its point too, ended its transaction (its last statement a
COMMIT or ROLLBACK, or its work returned), or began a statement that takes the write lock (BEGIN
IMMEDIATE, an INSERT, UPDATE, DELETE or REPLACE) while the holding side is inside a transaction: the
holder then holds the write lock (``kit.db.make_engine``), so that statement waits for its commit.
When the locking is missing, the holder is outside any transaction and waits for the others to end, so
the race's assertions see what they did; a side that does none of that within ``WAIT_S`` fails the test.
"""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy.orm import Session

WAIT_S = 60.0
_TAKES_THE_WRITE_LOCK = ("BEGIN IMMEDIATE", "BEGIN EXCLUSIVE", "INSERT", "UPDATE", "DELETE", "REPLACE")
_ENDS = ("COMMIT", "ROLLBACK")


class SqliteLockWaits:
    """The ``parties`` sides of one race on SQLite; :attr:`reached` is set once the first of them holds."""

    def __init__(self, parties: int, *, wait_s: float = WAIT_S) -> None:
        self.parties = parties
        self.wait_s = wait_s
        self.reached = threading.Event()
        self._changed = threading.Condition()
        self._connections: dict[int, Any] = {}  # thread ident -> driver connection
        self._last: dict[int, str] = {}  # thread ident -> the statement it began last
        self._holding: set[int] = set()
        self._left: set[int] = set()

    def join(self, session: Session) -> None:
        """This thread is a side of the race, on ``session``'s connection."""
        me = threading.get_ident()
        dbapi_conn = session.connection().connection.dbapi_connection
        assert dbapi_conn is not None

        def began(statement: str) -> None:
            with self._changed:
                self._last[me] = statement.lstrip().upper()
                self._changed.notify_all()

        dbapi_conn.set_trace_callback(began)
        with self._changed:
            self._connections[me] = dbapi_conn
            self._changed.notify_all()

    def leave(self) -> None:
        """This side's work is over (returned or raised)."""
        with self._changed:
            self._left.add(threading.get_ident())
            self._changed.notify_all()

    def close(self) -> None:
        """Stop tracing the sides' connections (they go back to the pool)."""
        with self._changed:
            for dbapi_conn in self._connections.values():
                dbapi_conn.set_trace_callback(None)

    def _going(self, mine: int) -> list[str]:
        holding_lock = self._connections[mine].in_transaction
        going = []
        for side in set(self._connections) - {mine} - self._holding - self._left:
            last = self._last.get(side, "")
            if last.startswith(_ENDS) or (holding_lock and last.startswith(_TAKES_THE_WRITE_LOCK)):
                continue
            going.append(f"{side}: last began {last[:60]!r}")
        return going

    def hold(self) -> None:
        """This side reached its point: wait until every other side waits for the write lock this side
        holds, reached its point too, or ended. A thread that did not join goes on at once."""
        mine = threading.get_ident()
        with self._changed:
            if mine not in self._connections:
                return
            self._holding.add(mine)
            self._changed.notify_all()
            if not self._changed.wait_for(lambda: len(self._connections) == self.parties, self.wait_s):
                raise AssertionError(f"only {len(self._connections)} of {self.parties} sides joined")
            self.reached.set()
            if not self._changed.wait_for(lambda: not self._going(mine), self.wait_s):
                raise AssertionError(
                    f"held {self.wait_s:g} s, but the other sides neither waited for the write lock nor "
                    f"ended: {'; '.join(self._going(mine))}"
                )
