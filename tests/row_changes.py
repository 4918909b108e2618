"""Every table's row count, taken again only when a row may have come or gone.

A row count changes only by an insert or a delete, and the connection keeps a tally of those that only
grows: PostgreSQL's ``pg_stat_xact_all_tables`` counts the transaction's inserts and deletes, a rolled-back
savepoint's attempts included; SQLite's ``total_changes()`` counts every row the connection's statements
inserted, updated or deleted. While the tally stands still, the counts are the last ones taken. That
holds on a ``world_per_module`` module's connection, which every session (the app's and the test's) joins
inside one outer transaction; on the connections of a pool a committed transaction's tally is gone.
"""

from __future__ import annotations

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import row_counts

_TALLIES = {
    "postgresql": "SELECT coalesce(sum(n_tup_ins + n_tup_del), 0) FROM pg_stat_xact_all_tables",
    "sqlite": "SELECT total_changes()",
}


class RowCounts:
    """``row_counts(factory)`` as it is now; ``factory`` is bound to a module's one connection."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        bind = factory.kw.get("bind")
        if not isinstance(bind, Connection):
            raise TypeError("RowCounts needs the one connection of a world_per_module module")
        self._factory = factory
        self._tally_sql = text(_TALLIES[bind.dialect.name])
        self._tally: int | None = None
        self._counts: dict[str, int] = {}
        self.recounts = 0  # how many times every table was counted

    def now(self) -> dict[str, int]:
        with self._factory() as session:
            tally = int(session.scalar(self._tally_sql) or 0)
        if tally != self._tally:
            self._counts = row_counts(self._factory)
            self.recounts += 1
            self._tally = tally
        return dict(self._counts)
