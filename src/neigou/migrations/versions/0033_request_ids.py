"""events and posts: a reservation and a post keep the caller's idempotency key

``event_reservations.request_id`` (the body's ``request_id`` or the ``Idempotency-Key`` header, up to 64
characters; null when none was sent) with a unique index on ``(event_id, request_id)``: a retried
reservation finds the first under its key instead of taking stock again, and two retries at once
cannot both be stored. Reservations made before it keep null (no key was sent or kept). The column is
added in place (``ADD COLUMN``, no table rebuild) and the index is a plain ``CREATE UNIQUE INDEX`` on
both databases; null keys never clash.

``group_posts.request_id`` (the ``Idempotency-Key`` of ``POST /members/{id}/posts``) with a unique
index on ``(member_id, request_id, group_id)``: one request makes one post per group, and a retry
finds them instead of posting into each group again.

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-05 23:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0033"
down_revision: str | None = "0032"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("event_reservations", sa.Column("request_id", sa.String(64), nullable=True))
    op.create_index(
        "uq_event_reservations_request", "event_reservations", ["event_id", "request_id"], unique=True
    )
    op.add_column("group_posts", sa.Column("request_id", sa.String(64), nullable=True))
    op.create_index(
        "uq_group_posts_request", "group_posts", ["member_id", "request_id", "group_id"], unique=True
    )


def downgrade() -> None:
    op.drop_index("uq_group_posts_request", table_name="group_posts")
    with op.batch_alter_table("group_posts") as batch:
        batch.drop_column("request_id")
    op.drop_index("uq_event_reservations_request", table_name="event_reservations")
    with op.batch_alter_table("event_reservations") as batch:
        batch.drop_column("request_id")
