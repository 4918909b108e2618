"""pushes: the time a push was asked to be due

``pushes.due_at`` (nullable, UTC): when the caller asked the push's messages to be due, its ``at`` as
the push took it (a past ``at`` or none: the push's ``created_at``), before quiet hours moved the
messages. A retry under the same ``Idempotency-Key`` is compared with it. Until now it was compared
with the messages' ``send_at`` through the program's current quiet hours, so a retry after the quiet
hours changed, or after delivery deferred the messages, was refused as another push.

Pushes stored before kept no asked time, only their messages' ``send_at``. Each gets the earliest
``send_at`` of its messages, or its ``created_at`` when that is later (a message written before a past
``at`` came to mean now kept that past time; such a push was made for then, which is now). That is
exact for a push made outside quiet hours whose messages delivery never held back; for one made or
dated inside quiet hours it is their end, and for one whose every message delivery deferred, the
deferred time: nothing older was kept. A push whose every customer was skipped stored no time and
keeps null, which any retry's time matches, as before. One set-based ``UPDATE`` on both databases.

Downgrading drops the column: the pushes stay, their retries compared as before.

Revision ID: 0056
Revises: 0055
Create Date: 2026-12-07 09:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0056"
down_revision: str | None = "0055"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PUSHES = sa.table(
    "pushes",
    sa.column("id", sa.BigInteger),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("due_at", sa.DateTime(timezone=True)),
)
_MESSAGES = sa.table(
    "push_messages",
    sa.column("push_id", sa.BigInteger),
    sa.column("send_at", sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    op.add_column("pushes", sa.Column("due_at", sa.DateTime(timezone=True), nullable=True))
    backfill(op.get_bind())


def backfill(conn: sa.Connection) -> int:
    """Each push with messages gets the later of its messages' earliest ``send_at`` and its
    ``created_at``; how many."""
    p, m = _PUSHES, _MESSAGES
    first = sa.select(sa.func.min(m.c.send_at)).where(m.c.push_id == p.c.id).scalar_subquery()
    due = sa.case((first > p.c.created_at, first), else_=p.c.created_at)
    has_messages = sa.exists().where(m.c.push_id == p.c.id)
    done = conn.execute(p.update().where(has_messages).values(due_at=due))
    return int(done.rowcount or 0)


def downgrade() -> None:
    with op.batch_alter_table("pushes") as batch:
        batch.drop_column("due_at")
