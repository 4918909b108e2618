"""users: one key per console username, whatever its case or width

Console usernames were matched exactly: ``admin``, ``Admin`` and full-width ``ａｄｍｉｎ`` could be three
operators, and signing in as ``ADMIN`` found none. A ``username_key`` column now holds each name's key
(``kit.ids.caseless``: NFKC, trimmed of white space and invisible marks at either end, casefolded, NFKC
again; the rule as this revision was written is frozen here) under a unique index, and sign-in looks the
account up by it.

Where existing accounts share a key, all are kept: the oldest (lowest id) takes the key, the others keep
a NULL key (their exact name still signs them in) and are logged by id, never by name, for an operator
to rename or deactivate. Accounts are few: they are read in one pass.

Downgrading drops the column and its index.

Revision ID: 0045
Revises: 0044
Create Date: 2026-12-06 22:10:00.000000
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0045"
down_revision: str | None = "0044"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")

# ``kit.ids._HASHED_EDGES`` as this revision was written.
_EDGES = frozenset(
    "\ufeff"
    + "".join(chr(c) for c in (*range(0x200B, 0x2010), *range(0x202A, 0x202F), *range(0x2060, 0x206A)))
)
_USERS = sa.table("users", sa.column("id"), sa.column("username"), sa.column("username_key"))


def username_key(value: str) -> str:
    """``kit.ids.caseless`` as this revision was written, frozen."""
    text = unicodedata.normalize("NFKC", value)
    start, end = 0, len(text)
    while start < end and (text[start].isspace() or text[start] in _EDGES):
        start += 1
    while end > start and (text[end - 1].isspace() or text[end - 1] in _EDGES):
        end -= 1
    return unicodedata.normalize("NFKC", text[start:end].casefold())


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("username_key", sa.String(255), nullable=True))
    fill(op.get_bind())
    op.create_index("ix_users_username_key", "users", ["username_key"], unique=True)


def fill(conn: sa.Connection) -> None:
    """Each account's key, the oldest of those sharing one taking it (the others logged by id)."""
    taken: set[str] = set()
    left: list[int] = []
    rows = []
    for row_id, username in conn.execute(sa.select(_USERS.c.id, _USERS.c.username).order_by(_USERS.c.id)):
        key = username_key(str(username))
        if key in taken:
            left.append(int(row_id))
            continue
        taken.add(key)
        rows.append({"row_id": row_id, "key": key})
    if rows:
        update = (
            _USERS.update()
            .where(_USERS.c.id == sa.bindparam("row_id"))
            .values(username_key=sa.bindparam("key"))
        )
        conn.execute(update, rows)
    if left:
        log.warning(
            "users kept without a username key (an older account's name has the same key; rename or "
            "deactivate one): ids %s",
            ", ".join(map(str, left)),
        )


def downgrade() -> None:
    op.drop_index("ix_users_username_key", table_name="users")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("username_key")
