"""customer_segments: a created segment keeps the caller's idempotency key

``customer_segments.request_id`` (the ``Idempotency-Key`` of ``POST /members/{id}/segments``, up to 64
characters; null when none was sent) with a unique index on ``(member_id, request_id)``: a client that
retries a create after a timeout finds the segment its first request made instead of saving a second
one, and two retries at once cannot both be stored. ``request_hash`` (the SHA-256 of the create's
body, hex) tells a retry from another body under the same key (409 ``idempotency_key_reused``), also
after the segment was replaced since. Segments saved before keep null in both (no key was sent);
null keys never clash. The columns are added in place and the index is a plain
``CREATE UNIQUE INDEX`` on both databases.

Downgrading drops the index and the columns: the segments stay, without their keys.

Revision ID: 0053
Revises: 0052
Create Date: 2026-12-07 06:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0053"
down_revision: str | None = "0052"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("customer_segments", sa.Column("request_id", sa.String(64), nullable=True))
    op.add_column("customer_segments", sa.Column("request_hash", sa.String(64), nullable=True))
    op.create_index(
        "uq_customer_segments_request", "customer_segments", ["member_id", "request_id"], unique=True
    )


def downgrade() -> None:
    op.drop_index("uq_customer_segments_request", table_name="customer_segments")
    with op.batch_alter_table("customer_segments") as batch:
        batch.drop_column("request_hash")
        batch.drop_column("request_id")
