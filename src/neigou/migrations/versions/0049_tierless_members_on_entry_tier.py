"""members without a tier in a program with a ladder: placed on its entry tier from when they joined

Setting a program's ladder now places every member of the program without a tier on its entry
(lowest-ranked) tier, with a ``member_tier_periods`` row dated from when they joined, reason
``ladder set``. Members added before the program had a ladder, in programs whose ladder was set before
that rule, still have none: ``members.tier_code`` is NULL (the API shows ``tier: null``, the monthly
evaluation treats them as tier-less) while their orders are paid the entry tier's rates. This revision
places them as a ladder set today would: for each program with at least one tier, each member with no
current tier gets the entry tier and one history row from their ``joined_at``, reason ``ladder set``.
Two set-based statements, the history first (it reads who has no tier), then the members; a program
without tiers and a member who holds a tier are left as they are. How many were placed is logged,
never who.

The rule is frozen here, as ``programs.repository.place_tierless`` had it when this was written.

Downgrading changes nothing: the rows written are the ones ``place_tierless`` writes (same columns,
same reason, same date), so after the upgrade nothing tells them from a ladder set later, and removing
rows of that shape would also take tiers from members a ladder placed since. The application at the
previous revision already places members this way and pays tier-less members the entry tier, so the
placed members are what it expects.

Revision ID: 0049
Revises: 0047
Create Date: 2026-12-07 01:00:00.000000
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0049"
down_revision: str | None = "0047"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")

REASON = "ladder set"
_MEMBERS = sa.table(
    "members",
    sa.column("id", sa.BigInteger),
    sa.column("program_id", sa.BigInteger),
    sa.column("tier_code", sa.String),
    sa.column("joined_at", sa.DateTime),
)
_TIERS = sa.table(
    "tiers",
    sa.column("program_id", sa.BigInteger),
    sa.column("code", sa.String),
    sa.column("rank", sa.Integer),
)
_PERIODS = sa.table(
    "member_tier_periods",
    sa.column("member_id", sa.BigInteger),
    sa.column("tier_code", sa.String),
    sa.column("effective_from", sa.DateTime),
    sa.column("reason", sa.String),
)


def upgrade() -> None:
    place(op.get_bind())


def place(conn: sa.Connection) -> int:
    """Put every member without a tier, in a program with a ladder, on its entry tier from when they
    joined (a history row each, then the member); how many were placed."""
    m, t = _MEMBERS, _TIERS
    entry = (  # the program's lowest-ranked tier (ranks are unique per program)
        sa.select(t.c.code).where(t.c.program_id == m.c.program_id).order_by(t.c.rank).limit(1)
    ).scalar_subquery()
    tierless = m.c.tier_code.is_(None) & sa.exists().where(t.c.program_id == m.c.program_id)
    conn.execute(
        _PERIODS.insert().from_select(
            ["member_id", "tier_code", "effective_from", "reason"],
            sa.select(m.c.id, entry, m.c.joined_at, sa.literal(REASON)).where(tierless),
        )
    )
    placed = int(conn.execute(m.update().where(tierless).values(tier_code=entry)).rowcount or 0)
    if placed:
        log.warning("members without a tier placed on their program's entry tier: %d", placed)
    return placed


def downgrade() -> None:
    """Nothing to undo: the placed members' rows are indistinguishable from a later ladder set's."""
