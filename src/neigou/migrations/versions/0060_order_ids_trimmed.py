"""orders: an external id stored with white space around it is trimmed

A JSON-lines file kept the white space around ``external_id`` until the readers shared one reading of
a text field (``orders.import_rows.trimmed``): an order imported so was stored as ``" WH-7 "``. The same
file sent again (imports are idempotent) now looks up ``WH-7``, finds nothing and inserts a second order
with a second commission. Each such id is trimmed of exactly the characters ``trimmed`` drops (Python's
``str.strip()``: every character ``str.isspace`` holds, frozen below as :data:`WHITE_SPACE`: ASCII tab,
line feed, vertical tab, form feed, carriage return, the separators 0x1C-0x1F, space, U+0085, U+00A0,
U+1680, U+2000-U+200A, U+2028, U+2029, U+202F, U+205F and U+3000), so the file's order finds it again.

An id is trimmed only where no other order of its program holds the trimmed id (the unique key
``(program_id, external_id)``): a pair that would collide is left untouched, both orders as they are,
for an operator to settle (``docs/orders.md`` gives the query that lists them), as is an id of white
space only. Their count is logged
by program, never the ids themselves. No other table stored an untrimmed id by that path: a JSON-lines
file brings orders only (refunds and platform orders come through the API and webhooks, which trim).

Downgrading changes nothing: the trimmed ids stay trimmed (the spaces were never part of the id).

Revision ID: 0060
Revises: 0059
Create Date: 2026-12-07 10:50:00.000000
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0060"
down_revision: str | None = "0059"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")

WHITE_SPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
    "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
"""The characters ``str.strip()`` drops, as this revision was written (every ``str.isspace`` one)."""


_CANDIDATES = {
    "postgresql": "SELECT id, program_id, external_id FROM orders WHERE external_id <> btrim(external_id, :ws)",
    "sqlite": "SELECT id, program_id, external_id FROM orders WHERE external_id <> trim(external_id, :ws)",
}


def _candidates(conn: sa.Connection) -> list[tuple[int, int, str]]:
    rows = conn.execute(sa.text(_CANDIDATES[conn.dialect.name] + " ORDER BY id"), {"ws": WHITE_SPACE})
    return [(int(r[0]), int(r[1]), str(r[2])) for r in rows]


def upgrade() -> None:
    conn = op.get_bind()
    held = sa.text("SELECT 1 FROM orders WHERE program_id = :program AND external_id = :id")
    change = sa.text("UPDATE orders SET external_id = :id WHERE id = :order")
    colliding: Counter[int] = Counter()
    for order, program, external_id in _candidates(conn):
        clean = external_id.strip(WHITE_SPACE)
        if not clean or conn.execute(held, {"program": program, "id": clean}).first() is not None:
            colliding[program] += 1
            continue
        conn.execute(change, {"id": clean, "order": order})
    for program, count in sorted(colliding.items()):
        log.warning(
            "program %s: %s order(s) keep white space around their external id: another order of the"
            " program holds the trimmed id (docs/orders.md lists them)", program, count,
        )  # fmt: skip


def downgrade() -> None:
    """Nothing: the trimmed ids stay trimmed."""
