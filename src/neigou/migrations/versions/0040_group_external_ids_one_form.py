"""groups: stored platform ids of chat groups rewritten to their one form

A chat group's ``external_id`` is stored in one form since 0039's release (``kit.ids.canonical``: NFKC,
trimmed of white space and invisible marks at either end), but rows stored before kept the form they
were typed in (``\\twrOg…``, full-width ``ｗｒＯｇ…``, a zero-width space in front). The uniqueness check
compares the one form, so it missed such a row and accepted a second group with the same platform id.

Each stored id is rewritten to the one form, by the rule as this revision was written (frozen here).
Where two groups of one program and platform (the unique key ``program_id, platform, external_id``)
would hold the same id once rewritten (one already in the form and another becoming it, or two becoming
it), both are left as they were and logged by id (never their ids on the platform): an operator settles
which group the id belongs to. An id with nothing left once trimmed, or longer than the column once
folded, is left as it was and logged by id too.

The rows are read in pages of ids (keyset, ``_PAGE`` at a time); the rows that change are kept in a
temporary table, not in memory, so the collisions are found with one statement and the updates are
written a page at a time (one ``executemany`` per page).

Downgrading changes nothing: the forms stored before are not kept.

Revision ID: 0040
Revises: 0039
Create Date: 2026-12-06 19:10:00.000000
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0040"
down_revision: str | None = "0039"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")

_PAGE = 1000
_MAX_LENGTH = 120
# ``kit.ids._HASHED_EDGES`` as this revision was written.
_EDGES = frozenset(
    "\ufeff"
    + "".join(chr(c) for c in (*range(0x200B, 0x2010), *range(0x202A, 0x202F), *range(0x2060, 0x206A)))
)


def one_form(value: str) -> str:
    """``kit.ids.canonical`` as this revision was written, frozen."""
    if value.isascii():
        return value.strip()
    text = unicodedata.normalize("NFKC", value)
    start, end = 0, len(text)
    while start < end and (text[start].isspace() or text[start] in _EDGES):
        start += 1
    while end > start and (text[end - 1].isspace() or text[end - 1] in _EDGES):
        end -= 1
    return text[start:end]


_GROUPS = sa.table(
    "chat_groups", sa.column("id"), sa.column("program_id"), sa.column("platform"), sa.column("external_id")
)


def _pages(conn: sa.Connection, table: sa.TableClause, *columns: str) -> Iterator[list[Any]]:
    """``table``'s rows (``id`` and ``columns``) a page of ids at a time, by id."""
    last = None
    query = sa.select(table.c.id, *(table.c[c] for c in columns)).order_by(table.c.id).limit(_PAGE)
    while True:
        page = list(conn.execute(query if last is None else query.where(table.c.id > last)))
        if not page:
            return
        yield page
        last = page[-1][0]


def upgrade() -> None:
    rewrite(op.get_bind())


def rewrite(conn: sa.Connection) -> None:
    """Every stored platform id in its one form, but the colliding and refused ones (logged by id)."""
    changing = sa.Table(
        "tmp_group_external_ids",
        sa.MetaData(),
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("program_id", sa.BigInteger, nullable=False),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("external_id", sa.String(4 * _MAX_LENGTH), nullable=False),
        prefixes=["TEMPORARY"],
    )
    changing.create(conn)
    refused: list[int] = []
    for page in _pages(conn, _GROUPS, "program_id", "platform", "external_id"):
        rows = []
        for row_id, program_id, platform, stored in page:
            if stored is None or (form := one_form(str(stored))) == stored:
                continue
            if not 0 < len(form) <= _MAX_LENGTH:
                refused.append(int(row_id))
                continue
            rows.append({"id": row_id, "program_id": program_id, "platform": platform, "external_id": form})
        if rows:
            conn.execute(changing.insert(), rows)
    if refused:
        log.warning(
            "chat_groups left as they were (no platform id left once trimmed, or too long): ids %s",
            ", ".join(map(str, refused)),
        )
    _settle_collisions(conn, changing)
    update = (
        _GROUPS.update()
        .where(_GROUPS.c.id == sa.bindparam("row_id"))
        .values(external_id=sa.bindparam("form"))
    )
    for page in _pages(conn, changing, "external_id"):
        conn.execute(update, [{"row_id": row_id, "form": form} for row_id, form in page])
    changing.drop(conn)


def _settle_collisions(conn: sa.Connection, changing: sa.Table) -> None:
    """Drop from ``changing`` every row whose new form another group of its program and platform holds
    or takes too, and log those groups' ids (a stored id already in the one form is never in ``changing``,
    and no row of it can hold another's new form as it was stored: that form is its own one form)."""
    key = (changing.c.program_id, changing.c.platform, changing.c.external_id)
    twice = sa.select(*key).group_by(*key).having(sa.func.count() > 1).subquery()
    clashing = sa.select(changing.c.id).join(
        twice,
        sa.and_(
            twice.c.program_id == changing.c.program_id,
            twice.c.platform == changing.c.platform,
            twice.c.external_id == changing.c.external_id,
        ),
    )
    held = sa.select(changing.c.id, _GROUPS.c.id).join(
        _GROUPS,
        sa.and_(
            _GROUPS.c.program_id == changing.c.program_id,
            _GROUPS.c.platform == changing.c.platform,
            _GROUPS.c.external_id == changing.c.external_id,
        ),
    )
    kept: set[int] = {int(i) for (i,) in conn.execute(clashing)}
    for row_id, holder in conn.execute(held):
        kept.update((int(row_id), int(holder)))
    if not kept:
        return
    ids = sorted(kept)
    for start in range(0, len(ids), _PAGE):
        conn.execute(changing.delete().where(changing.c.id.in_(ids[start : start + _PAGE])))
    log.warning(
        "chat_groups left as they were (another group of their program and platform holds or takes the "
        "same platform id in its one form): ids %s",
        ", ".join(map(str, ids)),
    )


def downgrade() -> None:
    pass
