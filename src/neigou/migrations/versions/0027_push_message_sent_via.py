"""crm: a robot-channel push message records which robot it went through

``push_messages.sent_via`` (``group`` | ``program``, null before a robot is tried and on the other
channels) and ``push_messages.sent_via_group_id`` (the customer's group whose robot it was; a record,
without a foreign key). Never the robot's URL or key. Messages sent before it keep both null: which
robot took them was not recorded.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-05 02:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("push_messages") as batch:
        batch.add_column(
            sa.Column(
                "sent_via",
                sa.Enum(
                    "group", "program", name="robotvia", native_enum=False, length=20
                ),  # as kit.db.str_enum
                nullable=True,
            )
        )
        batch.add_column(sa.Column("sent_via_group_id", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("push_messages") as batch:
        batch.drop_column("sent_via_group_id")
        batch.drop_column("sent_via")
