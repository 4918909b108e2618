"""risk: cases opened by the fraud rules, the orders they hold, suspensions and thresholds

Revision ID: 0015
Revises: 0010
Create Date: 2026-12-04 06:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import neigou.kit.db

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = neigou.kit.db.UTCDateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, length=max(len(v) for v in values))


def upgrade() -> None:
    op.create_table(
        "risk_cases",
        sa.Column("id", ID, nullable=False),
        sa.Column("program_id", ID, nullable=False),
        sa.Column("rule", sa.String(length=40), nullable=False),
        sa.Column("subject", sa.String(length=120), nullable=False),
        sa.Column("severity", _enum("severity", "low", "medium", "high"), nullable=False),
        sa.Column("member_id", ID, nullable=True),
        sa.Column("status", _enum("casestatus", "open", "cleared", "confirmed"), nullable=False),
        sa.Column("evidence", JSON, nullable=False),
        sa.Column("explanation", JSON, nullable=False),
        sa.Column("held_fen", sa.BigInteger(), nullable=False),
        sa.Column("opened_at", TS, nullable=False),
        sa.Column("resolved_at", TS, nullable=True),
        sa.Column("resolved_by", sa.String(length=80), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("reversed_fen", sa.BigInteger(), nullable=False),
        sa.Column("suspended", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["program_id"],
            ["programs.id"],
            name=op.f("fk_risk_cases_program_id_programs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_risk_cases_member_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_cases")),
    )
    op.create_index("ix_risk_cases_program_status", "risk_cases", ["program_id", "status"])
    op.create_index("ix_risk_cases_member_status", "risk_cases", ["member_id", "status"])
    op.create_index("ix_risk_cases_subject", "risk_cases", ["program_id", "rule", "subject"])
    op.create_table(
        "risk_case_orders",
        sa.Column("case_id", ID, nullable=False),
        sa.Column("order_id", ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["risk_cases.id"],
            name=op.f("fk_risk_case_orders_case_id_risk_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_risk_case_orders_order_id_orders"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("case_id", "order_id", name=op.f("pk_risk_case_orders")),
    )
    op.create_index("ix_risk_case_orders_order", "risk_case_orders", ["order_id"])
    op.create_table(
        "risk_suspensions",
        sa.Column("member_id", ID, nullable=False),
        sa.Column("program_id", ID, nullable=False),
        sa.Column("case_id", ID, nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_risk_suspensions_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["program_id"],
            ["programs.id"],
            name=op.f("fk_risk_suspensions_program_id_programs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["risk_cases.id"], name=op.f("fk_risk_suspensions_case_id_risk_cases")
        ),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_risk_suspensions")),
    )
    op.create_table(
        "risk_settings",
        sa.Column("program_id", ID, nullable=False),
        sa.Column("thresholds", JSON, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["program_id"],
            ["programs.id"],
            name=op.f("fk_risk_settings_program_id_programs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("program_id", name=op.f("pk_risk_settings")),
    )


def downgrade() -> None:
    op.drop_table("risk_settings")
    op.drop_table("risk_suspensions")
    op.drop_index("ix_risk_case_orders_order", table_name="risk_case_orders")
    op.drop_table("risk_case_orders")
    op.drop_index("ix_risk_cases_subject", table_name="risk_cases")
    op.drop_index("ix_risk_cases_member_status", table_name="risk_cases")
    op.drop_index("ix_risk_cases_program_status", table_name="risk_cases")
    op.drop_table("risk_cases")
