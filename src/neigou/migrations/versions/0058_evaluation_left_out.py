"""tier_evaluations: the members a run left out

``tier_evaluations.left_out`` (nullable JSON): the ids of the members an evaluation did not decide for
because their tier changed from the period's end on (an operator's override made before the run), so an
operator reading a run later sees who it skipped and why a member they expected to move did not. Null
for runs recorded before: which members they left out was not kept and cannot be told afterwards (a
later change makes a member look skipped). Added in place on both databases; no index.

Downgrading drops the column: the runs stay, without the list.

Revision ID: 0058
Revises: 0057
Create Date: 2026-12-07 09:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0058"
down_revision: str | None = "0057"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    column_type = sa.JSON().with_variant(JSONB(), "postgresql")
    op.add_column("tier_evaluations", sa.Column("left_out", column_type, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tier_evaluations") as batch:
        batch.drop_column("left_out")
