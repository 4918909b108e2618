"""privacy: opt-outs (PIPL) and what each one erased

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 08:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import neigou.kit.db

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = neigou.kit.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "opt_outs",
        sa.Column("id", ID, nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("program_id", ID, nullable=True),
        sa.Column("customer_ref_hash", sa.String(length=64), nullable=False),
        sa.Column("requested_at", TS, nullable=False),
        sa.Column("actor_kind", sa.String(length=20), nullable=False),
        sa.Column("actor_ref", sa.String(length=64), nullable=False),
        sa.Column(
            "erased",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["program_id"],
            ["programs.id"],
            name=op.f("fk_opt_outs_program_id_programs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opt_outs")),
        sa.UniqueConstraint("request_id", name=op.f("uq_opt_outs_request_id")),
    )
    op.create_index(op.f("ix_opt_outs_customer"), "opt_outs", ["customer_ref_hash"], unique=False)


def downgrade() -> None:
    op.drop_table("opt_outs")  # its index goes with it
