"""tiers: monthly tier evaluations and the tier changes they (or operators) made

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 07:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import neigou.kit.db

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = neigou.kit.db.UTCDateTime(timezone=True)


def fk(table: str, column: str, target: str, ondelete: str | None = None) -> sa.ForeignKeyConstraint:
    """A foreign key named by the metadata's naming convention."""
    name = op.f(f"fk_{table}_{column}_{target.split('.', maxsplit=1)[0]}")
    return sa.ForeignKeyConstraint([column], [target], name=name, ondelete=ondelete)


def upgrade() -> None:
    op.create_table(
        "tier_evaluations",
        sa.Column("id", ID, nullable=False),
        sa.Column("program_id", ID, nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("period_start", TS, nullable=False),
        sa.Column("period_end", TS, nullable=False),
        sa.Column("ran_at", TS, nullable=False),
        sa.Column("actor_kind", sa.String(length=20), nullable=False),
        sa.Column("actor_ref", sa.String(length=100), nullable=False),
        sa.Column("members_evaluated", sa.Integer(), nullable=False),
        sa.Column("changes", sa.Integer(), nullable=False),
        fk("tier_evaluations", "program_id", "programs.id", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tier_evaluations")),
        sa.UniqueConstraint("program_id", "period", name=op.f("uq_tier_evaluations_program_id_period")),
    )
    op.create_table(
        "tier_changes",
        sa.Column("id", ID, nullable=False),
        sa.Column("program_id", ID, nullable=False),
        sa.Column("evaluation_id", ID, nullable=True),
        sa.Column("member_id", ID, nullable=False),
        sa.Column(
            "kind",
            sa.Enum("upgrade", "demotion", "manual", name="tierchangekind", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("from_tier", sa.String(length=40), nullable=True),
        sa.Column("to_tier", sa.String(length=40), nullable=False),
        sa.Column(
            "reasons",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("effective_from", TS, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        fk("tier_changes", "program_id", "programs.id", "CASCADE"),
        fk("tier_changes", "evaluation_id", "tier_evaluations.id", "CASCADE"),
        fk("tier_changes", "member_id", "members.id", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tier_changes")),
    )
    op.create_index(
        "ix_tier_changes_member_id", "tier_changes", ["member_id", "effective_from"], unique=False
    )
    op.create_index("ix_tier_changes_evaluation_id", "tier_changes", ["evaluation_id"], unique=False)


def downgrade() -> None:
    op.drop_table("tier_changes")
    op.drop_table("tier_evaluations")
