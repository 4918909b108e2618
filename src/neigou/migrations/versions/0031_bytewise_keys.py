"""orders and the ledger: ids, codes and keys compared byte by byte on PostgreSQL

``orders.external_id``, ``orders.link_code``, ``orders.commission_state``, ``ledger_postings.key`` and
``ledger_entries.account`` take ``COLLATE "C"``. Each leads or follows a column of an index that every
imported order writes into (the order's unique key, its link and state indexes, the posting's key, the
entries' member and account), and with the database's locale every comparison inside those indexes went
through ``strcoll``; with ``"C"`` it is a ``memcmp``. The values are ids, codes and keys that are only
compared for equality, by prefix, or ordered for display, where byte order is UTF-8's code-point order
(the order of a ``C.UTF-8`` database). The type stays ``VARCHAR``, so the tables are not rewritten;
their indexes on these columns are rebuilt, holding each table's exclusive lock meanwhile (minutes on a
table of tens of millions of orders: run it in a maintenance window). In the order-import benchmark it
saved about 4% of the server's CPU (docs/benchmarks.md).

``share_links.code`` follows ``orders.link_code``: the two are joined, and a join across collations
runs in the non-default one, where the other side's index cannot serve it.

SQLite compares bytes already (``BINARY``): nothing to do there.

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-05 15:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0031"
down_revision: str | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = (
    ("orders", "external_id", 64),
    ("orders", "link_code", 64),
    ("orders", "commission_state", 20),
    ("ledger_postings", "key", 120),
    ("ledger_entries", "account", 20),
    ("share_links", "code", 16),  # joined to orders.link_code: one collation, so either side's index serves
)


def _collate(collation: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column, length in _COLUMNS:
        op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} TYPE VARCHAR({length}) COLLATE {collation}")


def upgrade() -> None:
    _collate('"C"')


def downgrade() -> None:
    _collate('"default"')
