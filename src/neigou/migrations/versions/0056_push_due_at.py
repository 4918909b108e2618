"""pushes: the time a push was asked to be due

``pushes.due_at`` (nullable, UTC): when the caller asked the push's messages to be due, its ``at`` as
the push took it (a past ``at`` or none: the push's ``created_at``), before quiet hours moved the
messages. A retry under the same ``Idempotency-Key`` is compared with it. Until now it was compared
with the messages' ``send_at`` through the program's current quiet hours, so a retry after the quiet
hours changed, or after delivery deferred the messages, was refused as another push.

Pushes stored before kept no asked time, only their messages' ``send_at``, and keep ``due_at`` null:
nothing is filled in. Their messages' earliest ``send_at`` is not the asked time for one made or dated
inside quiet hours (it is their end) nor for one whose messages delivery deferred, so a retry with the
original ``at`` (or a double submit without one) would be refused as another push. A retry of such a
push is compared as before (``crm.pushes._same_time``): its time moved out of the program's quiet hours
against the messages' earliest ``send_at``, any time for a push whose every customer was skipped.

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


def upgrade() -> None:
    op.add_column("pushes", sa.Column("due_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("pushes") as batch:
        batch.drop_column("due_at")
