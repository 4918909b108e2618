"""groups: a live code's "all full" alert keeps the state of its robot message, retried with backoff

``group_live_code_alerts`` gets the robot message's status (pending, sent, failed, no_robot), its
attempts, when it is next tried, when it was sent, the robot's last answer and the event's data the
message is made of. Alerts made before stay with a null status (their message was tried once);
downgrading drops the columns.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-04 20:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import neigou.kit.db

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "group_live_code_alerts"
STATUS = sa.Enum(
    "pending", "sent", "failed", "no_robot", name="robotalertstatus", native_enum=False, length=20
)
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    # Added in place, never by copying the table.
    op.add_column(TABLE, sa.Column("robot_status", STATUS, nullable=True))
    op.add_column(TABLE, sa.Column("robot_attempts", sa.Integer(), server_default="0", nullable=False))
    op.add_column(
        TABLE, sa.Column("robot_next_attempt_at", neigou.kit.db.UTCDateTime(timezone=True), nullable=True)
    )
    op.add_column(TABLE, sa.Column("robot_sent_at", neigou.kit.db.UTCDateTime(timezone=True), nullable=True))
    op.add_column(TABLE, sa.Column("robot_detail", sa.String(length=500), nullable=True))
    op.add_column(TABLE, sa.Column("robot_payload", JSON, nullable=True))
    op.create_index(
        "ix_group_live_code_alerts_robot_due", TABLE, ["robot_status", "robot_next_attempt_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_group_live_code_alerts_robot_due", table_name=TABLE)
    for column in (
        "robot_payload",
        "robot_detail",
        "robot_sent_at",
        "robot_next_attempt_at",
        "robot_attempts",
        "robot_status",
    ):
        op.drop_column(TABLE, column)
