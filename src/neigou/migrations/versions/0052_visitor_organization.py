"""link_visitors: the organization a visitor identified themselves to

A visitor cookie that claimed once was linked to the shopper's reference for every organization: a
shopper who typed their phone on organization A's landing page could claim on organization B's page in
one tap under that reference, and join B's member's customer book, though B never received the number
from the shopper. ``link_visitors.organization_id`` records the organization of the claim that made
the linkage; landing pages and click touches honour a linkage only within it, and a claim in another
organization records it anew.

Linkages stored before have no organization (NULL) and are honoured nowhere: their shoppers type their
phone once more (what they were asked the first time), which records the organization.

Downgrading drops the column: the linkages stay, unscoped.

Revision ID: 0052
Revises: 0051
Create Date: 2026-12-07 05:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0052"
down_revision: str | None = "0051"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("link_visitors") as batch:
        batch.add_column(sa.Column("organization_id", ID, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("link_visitors") as batch:
        batch.drop_column("organization_id")
