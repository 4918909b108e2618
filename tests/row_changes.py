"""Every table's row count, taken again only when a row may have come or gone.

A row count changes only by an insert or a delete, and the connection keeps a tally of those that only
grows: PostgreSQL counts the transaction's inserts and deletes of each table
(``pg_stat_get_xact_tuples_inserted`` and ``_deleted``, what ``pg_stat_xact_all_tables`` shows), a
rolled-back savepoint's attempts included; SQLite's ``total_changes()`` counts every row the connection's
statements inserted, updated or deleted. While the tally stands still, the counts are the last ones
taken. That holds on a ``world_per_module`` module's connection, which every session (the app's and the
test's) joins inside one outer transaction; on the connections of a pool a committed transaction's tally
is gone.

The tally is read on that connection itself, between the sweep's requests (no session, so no savepoint of
its own: one round trip), and on PostgreSQL only of the tables counted (the models' tables, found once by
name): the ``pg_stat_xact_all_tables`` view computes its figures for every table and index of the whole
database, some 5 ms a call, where a route sweep reads the tally twice per write it sends.
"""

from __future__ import annotations

from sqlalchemy import Connection, TextClause, text
from sqlalchemy.orm import Session, sessionmaker

from neigou.migrations.registry import metadata
from tests.conftest import row_counts

_OIDS = text("SELECT array_agg(to_regclass(name)::oid) FROM unnest(CAST(:names AS text[])) AS name")
_PG_TALLY = (
    "SELECT coalesce(sum(pg_stat_get_xact_tuples_inserted(t) + pg_stat_get_xact_tuples_deleted(t)), 0)"
    " FROM unnest(CAST(:oids AS oid[])) AS t"
)


class RowCounts:
    """``row_counts(factory)`` as it is now; ``factory`` is bound to a module's one connection."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        bind = factory.kw.get("bind")
        if not isinstance(bind, Connection):
            raise TypeError("RowCounts needs the one connection of a world_per_module module")
        self._factory = factory
        self._connection = bind
        self._tally_sql = self._tally_of(bind)
        self._tally: int | None = None
        self._counts: dict[str, int] = {}
        self.recounts = 0  # how many times every table was counted

    @staticmethod
    def _tally_of(connection: Connection) -> TextClause:
        if connection.dialect.name == "sqlite":
            return text("SELECT total_changes()")
        names = [table.name for table in metadata.sorted_tables]
        oids = connection.scalar(_OIDS, {"names": names})
        if not oids or len(oids) != len(names) or None in oids:
            raise LookupError("RowCounts: a model's table is missing from the database")
        return text(_PG_TALLY).bindparams(oids=list(oids))

    def now(self) -> dict[str, int]:
        tally = int(self._connection.scalar(self._tally_sql) or 0)
        if tally != self._tally:
            self._counts = row_counts(self._factory)
            self.recounts += 1
            self._tally = tally
        return dict(self._counts)
